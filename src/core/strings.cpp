// String helpers (strings.hpp).
#include "gavamoe/core/strings.hpp"

namespace gavamoe {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

namespace {

// Python's ASCII whitespace: space, \t \n \v \f \r and the separators \x1c..\x1f.
bool is_python_ascii_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

}  // namespace

std::string strip_ascii_space(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && is_python_ascii_space(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && is_python_ascii_space(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

}  // namespace gavamoe
