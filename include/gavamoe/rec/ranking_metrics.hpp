// Full-ranking metrics with one positive per user: HR@k, NDCG@k, MRR@k (UniRec's onepos.py).
//
// The target's rank r (0-based) is the number of candidate items scoring strictly higher;
// hit@k = [r < k], ndcg@k = [r < k] / log2(r + 2) (IDCG = 1), mrr@k = [r < k] / (r + 1).
// Ties: UniRec breaks them with +-1e-8 uniform noise; here each metric is its expected value
// over a uniformly random order of the tied items (r uniform in greater .. greater + ties),
// computed exactly, so results are deterministic and a constant score (the random baseline)
// gets its analytic expectation. Reported at k = 1, 5, 10, 20; the key metric is ndcg@10.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace gavamoe {

constexpr std::array<int64_t, 4> kRankCutoffs = {1, 5, 10, 20};

struct RankCount {
  int64_t greater = 0;  // candidates scoring strictly higher than the target
  int64_t ties = 0;     // other candidates scoring the same
};

class RankingMetrics {
 public:
  void add(const RankCount& count);
  int64_t users() const { return users_; }
  // Mean over the users added: "hr@1", "ndcg@1", "mrr@1", ..., "mrr@20".
  nlohmann::json means() const;
  double mean(const std::string& name) const;

 private:
  int64_t users_ = 0;
  std::array<double, kRankCutoffs.size()> hit_{}, ndcg_{}, mrr_{};
};

}  // namespace gavamoe
