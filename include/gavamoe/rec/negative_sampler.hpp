// MF's training negatives (UniRec data/transform/addnegsamples.py, neg_by_pop_alpha 0): for
// each (user, positive) sample, K items drawn uniformly from 1..M-1 with replacement; a draw
// equal to the positive or in the user's excluded items is redrawn, up to 100 tries, after
// which the negative is the padding id 0 (score 0), as UniRec does.
// Shapes: B samples, K negatives.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "gavamoe/rec/sampling.hpp"

namespace gavamoe {

class NegativeSampler {
 public:
  // excluded[u]: the items user index u never gets as a negative.
  NegativeSampler(int64_t n_items, int64_t negatives, std::vector<std::vector<int64_t>> excluded);

  // [B, 1 + K] item ids: the positive, then its K negatives.
  torch::Tensor groups(const std::vector<int64_t>& users, const std::vector<int64_t>& positives,
                       Rng& rng) const;
  int64_t negatives() const { return negatives_; }

 private:
  bool excluded(int64_t user, int64_t item) const;

  int64_t n_items_, negatives_;
  std::vector<std::vector<int64_t>> excluded_;  // sorted
};

}  // namespace gavamoe
