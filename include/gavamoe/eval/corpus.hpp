// Sentences as token ids: every metric compares ids, never strings.
//
// A Vocabulary interns token strings; id 0 is the empty word "", which ROUGE uses for an empty
// text (the published code joins tokens with " " and splits on " ", so "" is one word there).
// No real token is ever empty, so id 0 never matches a token.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gavamoe::eval {

using Sentence = std::vector<uint32_t>;
constexpr uint32_t kEmptyWord = 0;

class Vocabulary {
 public:
  Vocabulary();
  // The id of `token`, adding it when new.
  uint32_t intern(std::string_view token);
  // The id of `token`, or -1.
  int64_t find(std::string_view token) const;
  const std::string& token(uint32_t id) const { return tokens_[id]; }
  size_t size() const { return tokens_.size(); }

 private:
  std::deque<std::string> tokens_;  // a deque keeps the strings the map's keys point to in place
  std::unordered_map<std::string_view, uint32_t> ids_;
};

// PEPLER tokens of `text` (tokenize.hpp) as ids.
Sentence encode(std::string_view text, Vocabulary& vocab);
std::vector<Sentence> encode_all(const std::vector<std::string>& texts, Vocabulary& vocab);

}  // namespace gavamoe::eval
