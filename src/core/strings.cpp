// String helpers (strings.hpp).
#include "gavamoe/core/strings.hpp"

namespace gavamoe {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace gavamoe
