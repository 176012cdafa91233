// The explainer's prompt and training example of a record (see the header for the layout).
#include "gavamoe/data/explanation_prompt.hpp"

#include <algorithm>

#include "gavamoe/data/prompt_template.hpp"

namespace gavamoe {
namespace {

// Encodes `text`, writing `user` / `item` for each literal "<user>" / "<item>". The pieces
// between placeholders are encoded on their own without the spaces next to a placeholder:
// SentencePiece's dummy prefix gives each piece its word boundary back ("▁to"), where
// encoding " to " alone would give pieces that never occur in running text.
std::vector<int> encode_with_placeholders(const Tokenizer& tokenizer, const std::string& text,
                                          const PlaceholderIds& placeholders) {
  const std::string user = kUserToken, item = kItemToken;
  std::vector<int> ids;
  auto encode_piece = [&](size_t begin, size_t end) {
    while (begin < end && text[begin] == ' ') ++begin;
    while (end > begin && text[end - 1] == ' ') --end;
    if (begin == end) return;
    for (int id : tokenizer.encode(text.substr(begin, end - begin))) ids.push_back(id);
  };
  size_t start = 0;
  while (true) {
    const size_t at_user = text.find(user, start), at_item = text.find(item, start);
    const size_t at = std::min(at_user, at_item);
    if (at == std::string::npos) break;
    encode_piece(start, at);
    const bool is_user = at == at_user;
    ids.push_back(is_user ? placeholders.user : placeholders.item);
    start = at + (is_user ? user.size() : item.size());
  }
  encode_piece(start, text.size());
  return ids;
}

}  // namespace

PlaceholderIds placeholder_ids(const Tokenizer& tokenizer) {
  const int user = tokenizer.piece_to_id(kUserToken), item = tokenizer.piece_to_id(kItemToken);
  return {user >= 0 ? user : tokenizer.vocab_size(), item >= 0 ? item : tokenizer.vocab_size() + 1};
}

std::string explanation_prompt_text(const Record& record) {
  const char* experience = record.rating >= 3 ? "positive" : "negative";
  return std::string("The user has a ") + experience + " experience with the item, the item has " +
         record.feature + " features, please provide an explanation for recommending " +
         kItemToken + " to " + kUserToken + ".";
}

std::vector<int> encode_prompt(const Tokenizer& tokenizer, const Record& record,
                               const PromptOptions& options) {
  std::vector<int> ids;
  if (options.add_bos && options.bos_id >= 0) ids.push_back(options.bos_id);
  const std::string text =
      apply_prompt_template(options.template_name, explanation_prompt_text(record));
  for (int id : encode_with_placeholders(tokenizer, text, placeholder_ids(tokenizer)))
    ids.push_back(id);
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
