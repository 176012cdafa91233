// The comparison key of a piece of text: ASCII letters lowercased, every whitespace run one
// space, no space at either end. Two reviews or explanations that differ only in case or
// spacing get the same key (repeated-review detection, leak checks, explanation text).
#pragma once

#include <string>

namespace gavamoe {

std::string normalised_text(const std::string& text);

}  // namespace gavamoe
