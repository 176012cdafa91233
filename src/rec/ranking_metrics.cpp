// Expected HR/NDCG/MRR@k under random tie order (ranking_metrics.hpp).
#include "gavamoe/rec/ranking_metrics.hpp"

#include <algorithm>
#include <cmath>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

void RankingMetrics::add(const RankCount& count) {
  ++users_;
  const double positions = static_cast<double>(count.ties + 1);
  for (size_t c = 0; c < kRankCutoffs.size(); ++c) {
    const int64_t k = kRankCutoffs[c];
    const int64_t last = std::min(count.greater + count.ties, k - 1);
    double hit = 0, ndcg = 0, mrr = 0;
    for (int64_t r = count.greater; r <= last; ++r) {
      hit += 1.0;
      ndcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
      mrr += 1.0 / static_cast<double>(r + 1);
    }
    hit_[c] += hit / positions;
    ndcg_[c] += ndcg / positions;
    mrr_[c] += mrr / positions;
  }
}

nlohmann::json RankingMetrics::means() const {
  nlohmann::json out = nlohmann::json::object();
  const double n = std::max<double>(1.0, static_cast<double>(users_));
  for (size_t c = 0; c < kRankCutoffs.size(); ++c) {
    const std::string k = std::to_string(kRankCutoffs[c]);
    out["hr@" + k] = hit_[c] / n;
    out["ndcg@" + k] = ndcg_[c] / n;
    out["mrr@" + k] = mrr_[c] / n;
  }
  return out;
}

double RankingMetrics::mean(const std::string& name) const {
  const auto all = means();
  if (!all.contains(name)) throw Error("no ranking metric '" + name + "'");
  return all.at(name).get<double>();
}

}  // namespace gavamoe
