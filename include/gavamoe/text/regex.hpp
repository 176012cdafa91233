// Regex: a PCRE2 pattern (UTF, Unicode properties, JIT) for the tokenizers' pre-tokenizers.
//
// Patterns are written for Oniguruma (what Hugging Face `tokenizers` runs). PCRE2 accepts them
// verbatim; the one difference that matters is `\s`: Oniguruma's includes U+0085 (NEL), PCRE2's
// does not, so `\s`/`\S` are rewritten to add it. Text that is not valid UTF-8 is matched
// anyway: ill-formed bytes never match, so they fall into the gaps between matches.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace gavamoe {

class Regex {
 public:
  // `literal`: the pattern is a plain string to find. A pattern PCRE2 rejects is a
  // gavamoe::Error naming the pattern and the position.
  explicit Regex(const std::string& pattern, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Byte ranges [begin, end) of the successive leftmost, non-overlapping matches.
  std::vector<std::pair<size_t, size_t>> find_all(const std::string& text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8
};

}  // namespace gavamoe
