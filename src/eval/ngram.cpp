// Sorted-n-gram merge; see ngram.hpp.
#include "gavamoe/eval/ngram.hpp"

#include <algorithm>
#include <vector>

namespace gavamoe::eval {
namespace {

// <0, 0, >0 like memcmp, on n ids.
int compare(const uint32_t* x, const uint32_t* y, int n) {
  for (int k = 0; k < n; ++k) {
    if (x[k] != y[k]) return x[k] < y[k] ? -1 : 1;
  }
  return 0;
}

// Start positions of the n-grams of s, sorted by n-gram content.
void sorted_starts(const Sentence& s, int n, std::vector<uint32_t>& starts) {
  starts.clear();
  if (s.size() < static_cast<size_t>(n)) return;
  for (uint32_t i = 0; i + n <= s.size(); ++i) starts.push_back(i);
  const uint32_t* data = s.data();
  std::sort(starts.begin(), starts.end(),
            [&](uint32_t x, uint32_t y) { return compare(data + x, data + y, n) < 0; });
}

// Length of the run of equal n-grams starting at starts[i].
size_t run_length(const Sentence& s, const std::vector<uint32_t>& starts, size_t i, int n) {
  size_t j = i + 1;
  while (j < starts.size() && compare(&s[starts[i]], &s[starts[j]], n) == 0) ++j;
  return j - i;
}

}  // namespace

NgramOverlap ngram_overlap(const Sentence& a, const Sentence& b, int n) {
  thread_local std::vector<uint32_t> starts_a, starts_b;
  sorted_starts(a, n, starts_a);
  sorted_starts(b, n, starts_b);
  NgramOverlap result;
  size_t i = 0, j = 0;
  while (i < starts_a.size() || j < starts_b.size()) {
    int order;
    if (i == starts_a.size())
      order = 1;
    else if (j == starts_b.size())
      order = -1;
    else
      order = compare(&a[starts_a[i]], &b[starts_b[j]], n);
    if (order <= 0) {
      const size_t count_a = run_length(a, starts_a, i, n);
      ++result.distinct_a;
      if (order == 0) {
        const size_t count_b = run_length(b, starts_b, j, n);
        ++result.distinct_b;
        ++result.distinct_common;
        result.clipped_matches += static_cast<int64_t>(std::min(count_a, count_b));
        j += count_b;
      }
      i += count_a;
    } else {
      ++result.distinct_b;
      j += run_length(b, starts_b, j, n);
    }
  }
  return result;
}

}  // namespace gavamoe::eval
