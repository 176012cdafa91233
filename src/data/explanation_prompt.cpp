// The explainer's prompt and training example of a record (see the header for the layout).
#include "gavamoe/data/explanation_prompt.hpp"

#include <algorithm>

#include "gavamoe/core/strings.hpp"
#include "gavamoe/text/chat_template.hpp"

namespace gavamoe {

PlaceholderIds placeholder_ids(const Tokenizer& tokenizer) {
  const int user = tokenizer.piece_to_id(kUserToken), item = tokenizer.piece_to_id(kItemToken);
  return {user >= 0 ? user : tokenizer.vocab_size(), item >= 0 ? item : tokenizer.vocab_size() + 1};
}

// Encodes `text`, writing `user` / `item` for each literal "<user>" / "<item>"; the pieces
// between placeholders are encoded on their own. The spaces next to a placeholder depend on the
// tokenizer kind. SentencePiece: both are left out, its dummy prefix gives each piece its word
// boundary back ("\u2581to"), where encoding " to " would give pieces that never occur in
// running text. Byte-level BPE: the space before a placeholder belongs to the word the
// placeholder stands for and is left out; the space after it starts the next word and stays
// (" to" is one token "\u0120to").
std::vector<int> encode_with_placeholders(const Tokenizer& tokenizer, const std::string& text,
                                          const PlaceholderIds& placeholders, ItemSlots slots) {
  const std::string user = kUserToken, item = kItemToken;
  const bool sentencepiece = tokenizer.kind() == "sentencepiece";
  std::vector<int> ids;
  auto encode_piece = [&](size_t begin, size_t end, bool before_placeholder) {
    if (sentencepiece)
      while (begin < end && text[begin] == ' ') ++begin;
    if (sentencepiece || before_placeholder)
      while (end > begin && text[end - 1] == ' ') --end;
    if (begin == end) return;
    for (int id : tokenizer.encode(text.substr(begin, end - begin))) ids.push_back(id);
  };
  size_t start = 0;
  int items = 0;
  while (true) {
    const size_t at_user = text.find(user, start), at_item = text.find(item, start);
    const size_t at = std::min(at_user, at_item);
    if (at == std::string::npos) break;
    encode_piece(start, at, true);
    const bool is_user = at == at_user;
    if (is_user)
      ids.push_back(placeholders.user);
    else
      ids.push_back(placeholders.item + (slots == ItemSlots::numbered ? items++ : 0));
    start = at + (is_user ? user.size() : item.size());
  }
  encode_piece(start, text.size(), false);
  return ids;
}

std::string explanation_prompt_text(const Record& record) {
  const char* experience = record.rating >= 3 ? "positive" : "negative";
  return std::string("The user has a ") + experience + " experience with the item, the item has " +
         record.feature + " features, please provide an explanation for recommending " +
         kItemToken + " to " + kUserToken + ".";
}

std::vector<int> encode_prompt(const Tokenizer& tokenizer, const Record& record,
                               const PromptOptions& options) {
  std::string message = explanation_prompt_text(record);
  if (options.placeholders_as_words) {
    message = replace_all(message, kItemToken, "the item");
    message = replace_all(message, kUserToken, "the user");
  }
  const std::string text = render_chat(options.template_name, {{"user", message}}, true, tokenizer);
  std::vector<int> ids = encode_with_placeholders(tokenizer, text, placeholder_ids(tokenizer));
  // A template that writes BOS itself (llama-2, llama-3) already gave it.
  if (options.add_bos && options.bos_id >= 0 && (ids.empty() || ids.front() != options.bos_id))
    ids.insert(ids.begin(), options.bos_id);
  return ids;
}

std::optional<EncodedExample> encode_example(const Tokenizer& tokenizer, const Record& record,
                                             const PromptOptions& options) {
  EncodedExample example;
  example.ids = encode_prompt(tokenizer, record, options);
  example.prompt_length = static_cast<int64_t>(example.ids.size());
  const int64_t room = options.max_length - example.prompt_length - 1;  // 1 for EOS
  if (room < 0) return std::nullopt;
  const std::vector<int> explanation = tokenizer.encode(record.explanation);
  const int64_t kept = std::min<int64_t>(room, static_cast<int64_t>(explanation.size()));
  example.explanation_truncated = kept < static_cast<int64_t>(explanation.size());
  example.ids.insert(example.ids.end(), explanation.begin(), explanation.begin() + kept);
  example.ids.push_back(options.eos_id);
  return example;
}

}  // namespace gavamoe
