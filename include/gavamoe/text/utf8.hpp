// UTF-8 helpers for the tokenizers: code points, validity, and lossy repair.
//
// Conventions: text is std::string holding bytes; code points are char32_t. "Lossy" follows
// Rust's String::from_utf8_lossy (the WHATWG rule of maximal subparts): each maximal prefix of
// an ill-formed sequence becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <string>

namespace gavamoe::utf8 {

// Length of the well-formed sequence starting at text[at] (1 to 4), or 0 when it is ill-formed
// (then `maximal_subpart` bytes, at least 1, form the maximal prefix to replace).
size_t sequence_length(const std::string& text, size_t at, size_t* maximal_subpart = nullptr);

// The code point of the well-formed sequence at text[at] of length `length`.
char32_t decode_at(const std::string& text, size_t at, size_t length);

void append(std::string& out, char32_t code_point);

bool is_valid(const std::string& text);

// `bytes` as valid UTF-8, ill-formed parts replaced by U+FFFD.
std::string repair_lossy(const std::string& bytes);

}  // namespace gavamoe::utf8
