// normalised_text (see the header).
#include "gavamoe/data/normalised_text.hpp"

#include <cctype>

namespace gavamoe {

std::string normalised_text(const std::string& text) {
  std::string key;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c));
    if (space && (key.empty() || key.back() == ' ')) continue;
    key += space ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!key.empty() && key.back() == ' ') key.pop_back();
  return key;
}

}  // namespace gavamoe
