// PEPLER tokenisation in one pass over UTF-8 bytes; see tokenize.hpp for the rules.
#include "gavamoe/eval/tokenize.hpp"

#include <cstring>

namespace gavamoe::eval {
namespace {

// Length in bytes of a Python whitespace character starting at text[i], or 0.
// Python's str.isspace(): U+0009..U+000D, U+001C..U+0020, U+0085, U+00A0, U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
size_t whitespace_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) {
    return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u;
  };
  const unsigned c = byte(i);
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return 1;
  if (c == 0xC2) return (byte(i + 1) == 0x85 || byte(i + 1) == 0xA0) ? 2 : 0;
  if (c == 0xE1) return (byte(i + 1) == 0x9A && byte(i + 2) == 0x80) ? 3 : 0;
  if (c == 0xE3) return (byte(i + 1) == 0x80 && byte(i + 2) == 0x80) ? 3 : 0;
  if (c == 0xE2) {
    const unsigned c1 = byte(i + 1), c2 = byte(i + 2);
    if (c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8A) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF))
      return 3;
    if (c1 == 0x81 && c2 == 0x9F) return 3;
  }
  return 0;
}

// The token a punctuation run becomes, or nullptr when `c` starts no run.
const char* run_token(char c) {
  switch (c) {
    case ',':
    case ':':
      return ",";
    case ';':
    case '.':
      return ".";
    case '!':
      return "!";
    case '?':
      return "?";
    default:
      return nullptr;
  }
}

bool starts_with(std::string_view text, size_t i, const char* prefix) {
  return text.compare(i, std::strlen(prefix), prefix) == 0;
}

// True where PEPLER inserts a space before position i: 's 'm 've 're 'd 'll and n't.
bool clitic_starts(std::string_view text, size_t i) {
  if (text[i] == 'n') return starts_with(text, i, "n't");
  if (text[i] != '\'') return false;
  return starts_with(text, i, "'s") || starts_with(text, i, "'m") || starts_with(text, i, "'ve") ||
         starts_with(text, i, "'re") || starts_with(text, i, "'d") || starts_with(text, i, "'ll");
}

}  // namespace

void tokenize(std::string_view text, std::vector<std::string_view>& tokens) {
  size_t start = 0;  // start of the word being read
  auto flush = [&](size_t end) {
    if (end > start) tokens.push_back(text.substr(start, end - start));
  };
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (const size_t space = whitespace_length(text, i)) {
      flush(i);
      i += space;
      start = i;
    } else if (const char* punct = run_token(c)) {
      flush(i);
      tokens.push_back(punct);
      while (i < text.size() && text[i] == c) ++i;
      start = i;
    } else if (c == '(' || c == ')') {
      flush(i);
      tokens.push_back(c == '(' ? "(" : ")");
      start = ++i;
    } else {
      if (clitic_starts(text, i)) {
        flush(i);
        start = i;
      }
      ++i;
    }
  }
  flush(i);
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string_view> views;
  tokenize(text, views);
  return std::vector<std::string>(views.begin(), views.end());
}

}  // namespace gavamoe::eval
