// Portable seeded draws (sampling.hpp).
#include "gavamoe/rec/sampling.hpp"

#include <unordered_map>

namespace gavamoe {

uint64_t uniform_below(Rng& rng, uint64_t n) {
  // The largest multiple of n that fits: draws at or above it are redrawn, so none is favoured.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % n;
}

std::vector<int64_t> draw_distinct(Rng& rng, int64_t n, int64_t k) {
  // Partial Fisher-Yates over 0..n-1, with the swapped entries in a map: O(k).
  std::unordered_map<int64_t, int64_t> swapped;
  auto at = [&swapped](int64_t i) {
    const auto found = swapped.find(i);
    return found == swapped.end() ? i : found->second;
  };
  std::vector<int64_t> drawn;
  drawn.reserve(k);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(n - i)));
    const int64_t value = at(j);
    swapped[j] = at(i);
    drawn.push_back(value);
  }
  return drawn;
}

}  // namespace gavamoe
