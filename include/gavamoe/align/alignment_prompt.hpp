// The surrogate LLM's view of one alignment sample: the sample as the align data files hold it
// (AlignQuery) and its tokens (AlignExample).
//
// Prompt: the sample's USER template filled with its question (fill_template), stripped, as the
// single user message of the chat template (the model's own under "auto"; with the generation
// prompt), then the answer (stripped) and the template's end-of-turn token:
//   [BOS] prompt answer END
// (RecExplainer's conversation format; the loss covers answer and END, spec section 4). END is
// the family's turn end (chatml <|im_end|>, llama-3 <|eot_id|>, phi-3 <|end|>), else EOS.
// Placeholders: every "<user>" is the id `user`, the k-th "<item>" (k = 0, 1, ...) the id
// item + k (ItemSlots::numbered), so that each slot takes its own recommender vector; the
// surrogate puts them beyond the vocabulary (vocab, vocab + 1, ...), where they never reach the
// embedding table and can never be generated. The prompt is never cut: the answer is truncated
// to fit max_length with END kept, and a sample whose prompt alone (plus END) does not fit
// gives no example.
// A conversation (type "sharegpt", general_instructions.hpp) is every turn rendered by the
// template, each assistant turn's answer (stripped) followed by END and trained on, the template's
// text between turns (what it writes after END, then the next user turn and the assistant's
// opening) not: [BOS] turn1 answer1 END between answer2 END ... (the original masks every user
// turn). It is cut after the last assistant turn that fits max_length (truncated within it when
// the first does not fit whole); no example when the first user turn alone does not fit.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gavamoe/text/chat_template.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

// One line of <variant>_train.json / _valid.json (AlignSample::to_json).
struct AlignQuery {
  std::string type;
  int64_t uid = 0;     // 0: an item task
  int64_t iid = 0;     // -1: uid2hist over the whole sequence
  int64_t target = 0;  // uidiid2binary: the item asked about
  std::vector<int64_t> topk;
  std::string user_template;
  std::vector<std::string> question;  // the template's slots
  std::string answer;
  double score = 0;                       // uidiid2explan: the recommender's score of (uid, target)
  std::vector<ChatMessage> conversation;  // "sharegpt": user, assistant, user, assistant, ...

  // Errors name `where` ("hybrid_valid.json: sample 12") and the key.
  static AlignQuery from_json(const nlohmann::json& j, const std::string& where);
  std::string user_text() const;  // the filled USER template, stripped
  // The recommender items of the prompt's "<item>" slots, in order: the shuffled topk
  // (uidiid2rank), the target (uidiid2binary, uidiid2explan), else the item.
  std::vector<int64_t> slot_items() const;
};

// A JSON array of samples (an align data file); errors name the file and the sample.
std::vector<AlignQuery> read_align_queries(const std::string& path);

struct AlignPromptOptions {
  std::string template_name = "auto";
  int64_t max_length = 512;
  bool add_bos = false;  // from the tokenizer
  int bos_id = -1;
  int end_id = -1;   // the end-of-turn token (align_end_of_turn)
  int user_id = -1;  // placeholder ids (the surrogate's)
  int item_id = -1;
};

// The prompt layout of `tokenizer` under `template_name` ("auto" resolved), with the
// placeholders at ids vocab_size, vocab_size + 1, ... of a model with `vocab_size` rows.
AlignPromptOptions align_prompt_options(const Tokenizer& tokenizer,
                                        const std::string& template_name, int64_t max_length,
                                        int64_t vocab_size);

struct AlignExample {
  std::vector<int> ids;       // [BOS] prompt [answer END]
  int64_t prompt_length = 0;  // ids[0, prompt_length): the prompt (a conversation's first turn)
  // The trained spans [begin, end) of ids: each answer with its END (one, from prompt_length to
  // the end, but for conversations); empty for a prompt alone.
  std::vector<std::pair<int64_t, int64_t>> answers;
  bool has_user = false;   // the prompt holds <user>
  int64_t item_slots = 0;  // number of <item> in the prompt
  bool answer_truncated = false;
  int64_t trained_tokens() const;
};

// The prompt only (inference), or prompt + answer + END (training). std::nullopt when the
// prompt does not fit max_length.
std::optional<AlignExample> encode_align_prompt(const Tokenizer& tokenizer, const AlignQuery& query,
                                                const AlignPromptOptions& options);
std::optional<AlignExample> encode_align_example(const Tokenizer& tokenizer,
                                                 const AlignQuery& query,
                                                 const AlignPromptOptions& options);

}  // namespace gavamoe
