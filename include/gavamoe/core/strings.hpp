// Small string helpers shared by the data importers, the synthetic data and the alignment tasks.
#pragma once

#include <string>

namespace gavamoe {

// `text` with every occurrence of `from` (not empty) replaced by `to`, left to right; the
// replacement text is not searched again.
std::string replace_all(std::string text, const std::string& from, const std::string& to);

// `text` without leading and trailing ASCII whitespace, \x1c..\x1f included (Python's
// str.strip() for text whose outer characters are ASCII; non-ASCII spaces such as U+00A0 are
// kept; text/chat_template.cpp strips Unicode spaces for templates).
std::string strip_ascii_space(const std::string& text);

}  // namespace gavamoe
