// Regex over PCRE2 (regex.hpp). Compiled with PCRE2_UTF | PCRE2_UCP (Unicode \s, \p{..}) and
// PCRE2_MATCH_INVALID_UTF (ill-formed input is safe), JIT when available. Matching allocates
// its own match data, so one compiled pattern serves every thread.
#include "gavamoe/text/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

// Adds U+0085 to every \s (and removes it from every \S), outside and inside character classes.
std::string with_oniguruma_space(const std::string& pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's')
        out += in_class ? "\\s\\x{85}" : "[\\s\\x{85}]";
      else if (next == 'S' && !in_class)
        out += "[^\\s\\x{85}]";
      else
        out += std::string(1, c) + next;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const size_t end = pattern.find(":]", i + 2);  // a POSIX class such as [:alpha:]
      if (end != std::string::npos) {
        out += pattern.substr(i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

pcre2_code* code_of(void* code) { return static_cast<pcre2_code*>(code); }

}  // namespace

Regex::Regex(const std::string& pattern, bool literal) : pattern_(pattern) {
  const std::string compiled = literal ? pattern : with_oniguruma_space(pattern);
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  if (literal) options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_LITERAL;
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                                   options, &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    throw Error("regex '" + pattern + "' at character " + std::to_string(offset) + ": " +
                reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT the interpreter matches the same
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(code_of(code_)); }

std::vector<std::pair<size_t, size_t>> Regex::find_all(const std::string& text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  if (!data) throw Error("regex '" + pattern_ + "': out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    int rc = pcre2_match(code_of(code_), subject, text.size(), start, 0, data, nullptr);
    // The JIT's fixed stack can run out on very long runs; the interpreter uses the heap.
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
      rc = pcre2_match(code_of(code_), subject, text.size(), start, PCRE2_NO_JIT, data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(data);
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error("regex '" + pattern_ + "': " + reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    const size_t begin = ovector[0], end = ovector[1];
    matches.emplace_back(begin, end);
    if (end > begin) {
      start = end;
    } else {  // an empty match: go on after the next character
      if (begin >= text.size()) break;
      const size_t length = utf8::sequence_length(text, begin);
      start = begin + (length ? length : 1);
    }
  }
  pcre2_match_data_free(data);
  return matches;
}

}  // namespace gavamoe
