// Token interning and sentence encoding; see corpus.hpp.
#include "gavamoe/eval/corpus.hpp"

#include "gavamoe/eval/tokenize.hpp"

namespace gavamoe::eval {

Vocabulary::Vocabulary() { intern(""); }

uint32_t Vocabulary::intern(std::string_view token) {
  auto found = ids_.find(token);
  if (found != ids_.end()) return found->second;
  const auto id = static_cast<uint32_t>(tokens_.size());
  tokens_.emplace_back(token);
  ids_.emplace(tokens_.back(), id);
  return id;
}

int64_t Vocabulary::find(std::string_view token) const {
  auto found = ids_.find(token);
  return found == ids_.end() ? -1 : static_cast<int64_t>(found->second);
}

Sentence encode(std::string_view text, Vocabulary& vocab) {
  thread_local std::vector<std::string_view> tokens;
  tokens.clear();
  tokenize(text, tokens);
  Sentence ids;
  ids.reserve(tokens.size());
  for (std::string_view token : tokens) ids.push_back(vocab.intern(token));
  return ids;
}

std::vector<Sentence> encode_all(const std::vector<std::string>& texts, Vocabulary& vocab) {
  std::vector<Sentence> sentences;
  sentences.reserve(texts.size());
  for (const std::string& text : texts) sentences.push_back(encode(text, vocab));
  return sentences;
}

}  // namespace gavamoe::eval
