// Repeated titles get " [k]" suffixes (unique_titles.hpp).
#include "gavamoe/rec/unique_titles.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

#include "gavamoe/core/strings.hpp"

namespace gavamoe {

std::string title_key(const std::string& title) {
  std::string key = strip_ascii_space(title);
  for (char& c : key)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return key;
}

int64_t make_titles_unique(std::vector<std::string>& titles) {
  std::unordered_set<std::string> taken;
  for (const auto& title : titles)
    if (!title.empty()) taken.insert(title_key(title));
  std::unordered_set<std::string> kept;  // keys whose first item has been seen
  std::unordered_map<std::string, int64_t> copies;
  int64_t renamed = 0;
  for (auto& title : titles) {
    if (title.empty()) continue;
    const std::string key = title_key(title);
    if (kept.insert(key).second) continue;
    int64_t k = std::max<int64_t>(copies[key], 1);
    std::string candidate;
    do {
      ++k;
      candidate = strip_ascii_space(title) + " [" + std::to_string(k) + "]";
    } while (taken.count(title_key(candidate)));
    copies[key] = k;
    taken.insert(title_key(candidate));
    kept.insert(title_key(candidate));
    title = candidate;
    ++renamed;
  }
  return renamed;
}

}  // namespace gavamoe
