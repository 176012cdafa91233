// The explainer's prompt and training example for one record (GaVaMoE part 2).
//
// Prompt text (the paper's, with the two placeholders standing for the user and the item):
//   "The user has a positive experience with the item, the item has {feature} features,
//    please provide an explanation for recommending <item> to <user>."
// ("negative" when rating < 3), as the user message of the chat template `template_name`
// (text/chat_template.hpp: plain, llama-2, chatml, auto, ...; with the generation prompt, so
// the explanation is the assistant's turn). Tokens:
//   [BOS] prompt explanation EOS
// BOS is added when add_bos says so, unless the template already wrote it.
// The prompt is encoded in pieces around the placeholders so that each placeholder is exactly
// one id: the tokenizer's "<user>" / "<item>" pieces when it has them (the project's own
// tokenizers reserve them), else the virtual ids vocab_size and vocab_size + 1, which
// Llama::embed replaces before any table lookup. SentencePiece: the spaces next to a
// placeholder are left to the tokenizer's dummy prefix ("recommending", <item>, "to", <user>,
// "."). Byte-level BPE: the space before a placeholder goes with it, the one after starts the
// next word ("recommending", <item>, " to", <user>, ".").
// The explanation is encoded on its own, so it starts a word as generated text does. The
// prompt is never cut: the explanation is truncated so that the whole example fits max_length
// tokens (EOS kept), and a record whose prompt alone (plus EOS) does not fit gives no example.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gavamoe/data/record.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

struct PromptOptions {
  std::string template_name = "plain";
  int64_t max_length = 180;
  bool add_bos = true;  // from the tokenizer config (Llama default: true)
  int bos_id = 1;
  int eos_id = 2;
  // The zero-shot baseline (a base with no injected vectors): "<item>" and "<user>" are written
  // as the words "the item" and "the user" instead of placeholder ids.
  bool placeholders_as_words = false;
};

struct PlaceholderIds {
  int user = -1;
  int item = -1;
};
// The placeholder ids for `tokenizer` (see above).
PlaceholderIds placeholder_ids(const Tokenizer& tokenizer);

// How the k-th "<item>" of a text (k = 0, 1, ...) is written: every one as `item` (the
// explainer's one item), or as item + k (a prompt about several items, each with its vector).
enum class ItemSlots { shared, numbered };
// `text` encoded with `placeholders.user` for each literal "<user>" and the item id of each
// "<item>" (see ItemSlots); the pieces between them are encoded on their own, with the spacing
// rule described at the top of this file.
std::vector<int> encode_with_placeholders(const Tokenizer& tokenizer, const std::string& text,
                                          const PlaceholderIds& placeholders,
                                          ItemSlots slots = ItemSlots::shared);

// The prompt text with the literal "<user>" / "<item>" placeholders, before the template.
std::string explanation_prompt_text(const Record& record);

// [BOS] prompt, the model input of inference (placeholders as ids, or as words when
// options.placeholders_as_words).
std::vector<int> encode_prompt(const Tokenizer& tokenizer, const Record& record,
                               const PromptOptions& options);

struct EncodedExample {
  std::vector<int> ids;       // [BOS] prompt explanation EOS, at most max_length
  int64_t prompt_length = 0;  // ids[0, prompt_length) is the prompt; the loss covers the rest
  bool explanation_truncated = false;
};
// std::nullopt when the prompt alone (plus EOS) exceeds max_length.
std::optional<EncodedExample> encode_example(const Tokenizer& tokenizer, const Record& record,
                                             const PromptOptions& options);

}  // namespace gavamoe
