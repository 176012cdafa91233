// Added-token matching (added_tokens.hpp): a byte trie walked from every position; the first
// position with a match wins, the longest token there. Word and whitespace tests use Rust's
// definitions as `tokenizers` does: alphanumeric = Unicode Alphabetic or Numeric, whitespace =
// Unicode White_Space (ICU).
#include "gavamoe/text/added_tokens.hpp"

#include <unicode/uchar.h>

#include <algorithm>

#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

bool is_word_char(char32_t c) {
  if (c == '_') return true;
  if (u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC)) return true;
  const int8_t type = u_charType(static_cast<UChar32>(c));
  return type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
}

bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

// The code point ending at `end` (exclusive), or 0 when there is none or it is ill-formed.
char32_t char_before(const std::string& text, size_t end, size_t* begin) {
  size_t start = end;
  while (start > 0 && end - start < 4) {
    --start;
    if ((static_cast<unsigned char>(text[start]) & 0xC0) != 0x80) break;
  }
  if (start == end) return 0;
  const size_t length = utf8::sequence_length(text, start);
  if (length != end - start) return 0;
  if (begin) *begin = start;
  return utf8::decode_at(text, start, length);
}

char32_t char_at(const std::string& text, size_t at, size_t* length_out) {
  if (at >= text.size()) return 0;
  const size_t length = utf8::sequence_length(text, at);
  if (!length) return 0;
  if (length_out) *length_out = length;
  return utf8::decode_at(text, at, length);
}

}  // namespace

int AddedTokenMatcher::child(int node, unsigned char byte) const {
  if (node == 0) return root_[byte];
  const auto& children = nodes_[node].children;
  const auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, -1));
  return it != children.end() && it->first == byte ? it->second : -1;
}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  root_.fill(-1);
  nodes_.emplace_back();  // the root
  for (const AddedToken& token : tokens) {
    if (token.content.empty()) continue;
    int node = 0;
    for (char c : token.content) {
      const auto byte = static_cast<unsigned char>(c);
      int next = child(node, byte);
      if (next < 0) {
        next = static_cast<int>(nodes_.size());
        nodes_.emplace_back();
        if (node == 0) {
          root_[byte] = next;
        } else {
          auto& children = nodes_[node].children;
          children.insert(
              std::lower_bound(children.begin(), children.end(), std::make_pair(byte, -1)),
              {byte, next});
        }
      }
      node = next;
    }
    if (nodes_[node].token >= 0) continue;  // the first of equal contents wins
    nodes_[node].token = static_cast<int>(tokens_.size());
    tokens_.push_back(token);
  }
}

int AddedTokenMatcher::longest_at(const std::string& text, size_t at, size_t* end) const {
  int found = -1;
  for (int node = root_[static_cast<unsigned char>(text[at])]; node >= 0;) {
    if (nodes_[node].token >= 0) found = nodes_[node].token, *end = at + 1;
    if (++at >= text.size()) break;
    node = child(node, static_cast<unsigned char>(text[at]));
  }
  return found;
}

void AddedTokenMatcher::split(const std::string& text, std::vector<TextSegment>& out) const {
  size_t start_offset = 0;  // end of the last token taken
  size_t at = 0;
  while (!tokens_.empty() && at < text.size()) {
    if (root_[static_cast<unsigned char>(text[at])] < 0) {
      ++at;
      continue;
    }
    size_t stop = 0;
    const int index = longest_at(text, at, &stop);
    if (index < 0) {
      ++at;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = at;
    if (token.single_word) {
      const char32_t before = start > 0 ? char_before(text, start, nullptr) : 0;
      const char32_t after = char_at(text, stop, nullptr);
      if ((before && is_word_char(before)) || (after && is_word_char(after))) {
        at = stop;  // the matcher moves on past a discarded match
        continue;
      }
    }
    if (token.lstrip) {
      size_t begin = start;
      while (begin > start_offset) {
        size_t char_begin = begin;
        const char32_t c = char_before(text, begin, &char_begin);
        if (!c || !is_space(c)) break;
        begin = char_begin;
      }
      start = begin;
    }
    if (token.rstrip) {
      size_t length = 1;
      for (char32_t c; (c = char_at(text, stop, &length)) && is_space(c);) stop += length;
    }
    if (start_offset < start) out.push_back({text.substr(start_offset, start - start_offset), -1});
    out.push_back({text.substr(start, stop - start), token.id});
    start_offset = at = stop;
  }
  if (start_offset < text.size()) out.push_back({text.substr(start_offset), -1});
}

}  // namespace gavamoe
