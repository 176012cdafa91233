// Uniform negatives with rejection (negative_sampler.hpp).
#include "gavamoe/rec/negative_sampler.hpp"

#include <algorithm>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

constexpr int kTries = 100;

NegativeSampler::NegativeSampler(int64_t n_items, int64_t negatives,
                                 std::vector<std::vector<int64_t>> excluded)
    : n_items_(n_items), negatives_(negatives), excluded_(std::move(excluded)) {
  if (n_items < 2 || negatives < 1)
    throw Error("mf: needs at least one item and one negative (rec.mf_negatives)");
  for (auto& items : excluded_) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
}

bool NegativeSampler::excluded(int64_t user, int64_t item) const {
  const auto& items = excluded_[user];
  return std::binary_search(items.begin(), items.end(), item);
}

torch::Tensor NegativeSampler::groups(const std::vector<int64_t>& users,
                                      const std::vector<int64_t>& positives, Rng& rng) const {
  const auto B = static_cast<int64_t>(users.size());
  auto ids = torch::empty({B, 1 + negatives_}, torch::kLong);
  auto out = ids.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    out[b][0] = positives[b];
    for (int64_t k = 1; k <= negatives_; ++k) {
      int64_t negative = 0;
      for (int tries = 0; tries < kTries; ++tries) {
        const auto item = 1 + static_cast<int64_t>(uniform_below(rng, n_items_ - 1));
        if (item != positives[b] && !excluded(users[b], item)) {
          negative = item;
          break;
        }
      }
      out[b][k] = negative;
    }
  }
  return ids;
}

}  // namespace gavamoe
