// The leave-one-out split in both modes, padded histories, the popularity count, and the
// full-ranking metrics against a brute-force version (explicit candidate lists, sorting, and
// every order of tied items enumerated).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/full_ranking.hpp"
#include "gavamoe/rec/leave_one_out.hpp"
#include "gavamoe/rec/ranking_metrics.hpp"
#include "rec_fixtures.hpp"

namespace gavamoe {
namespace {

std::vector<std::pair<int64_t, int64_t>> pairs(const std::vector<SequenceTarget>& targets) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& t : targets) out.emplace_back(t.user, t.position);
  return out;
}

TEST(LeaveOneOut, SeparateHoldsOutValidationBeforeTest) {
  const auto data = test::make_sequences({{1, 2, 3, 4, 5}, {3, 4}, {6}, {2, 6, 1}}, 7);
  const auto split = leave_one_out(data, HoldoutMode::separate);
  using P = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(pairs(split.train), (P{{0, 1}, {0, 2}}));
  EXPECT_EQ(pairs(split.validation), (P{{0, 3}, {3, 1}}));
  EXPECT_EQ(pairs(split.test), (P{{0, 4}, {1, 1}, {3, 2}}));
  EXPECT_EQ(split.skipped_users, 1);
  EXPECT_EQ(split.training_part, (std::vector<int64_t>{3, 1, 1, 1}));
}

TEST(LeaveOneOut, OriginalUsesTheLastItemTwice) {
  const auto data = test::make_sequences({{1, 2, 3, 4, 5}, {3, 4}, {6}}, 7);
  const auto split = leave_one_out(data, HoldoutMode::original);
  using P = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(pairs(split.train), (P{{0, 1}, {0, 2}, {0, 3}}));
  EXPECT_EQ(pairs(split.validation), (P{{0, 4}, {1, 1}}));
  EXPECT_EQ(pairs(split.test), pairs(split.validation));
  EXPECT_EQ(split.training_part, (std::vector<int64_t>{4, 1, 1}));
  EXPECT_THROW(parse_holdout_mode("both", "rec.split"), Error);
}

TEST(LeaveOneOut, HistoriesAreLeftPaddedLastItems) {
  const auto data = test::make_sequences({{1, 2, 3, 4, 5, 6}}, 7);
  EXPECT_EQ(padded_history(data, {0, 5}, 3), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(padded_history(data, {0, 2}, 4), (std::vector<int64_t>{0, 0, 1, 2}));
  const auto popularity =
      training_popularity(data, leave_one_out(data, HoldoutMode::separate));  // items 1..4
  EXPECT_EQ(popularity.sum().item<float>(), 4.0f);
  EXPECT_EQ(popularity[5].item<float>(), 0.0f);
}

// Brute force: the mean metric over every order of the target's tied competitors, the
// candidates listed explicitly.
std::map<std::string, double> brute_force(const std::vector<float>& scores, int64_t target,
                                          const std::set<int64_t>& masked) {
  std::vector<int64_t> candidates;
  for (int64_t j = 1; j < static_cast<int64_t>(scores.size()); ++j)
    if (j == target || !masked.count(j)) candidates.push_back(j);
  // Sort by score, descending; the tied block is then permuted exhaustively.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  std::vector<size_t> tied;
  for (size_t k = 0; k < candidates.size(); ++k)
    if (scores[candidates[k]] == scores[target]) tied.push_back(k);
  std::vector<int64_t> block;
  for (size_t k : tied) block.push_back(candidates[k]);
  std::sort(block.begin(), block.end());
  std::map<std::string, double> total;
  int64_t orders = 0;
  do {
    std::vector<int64_t> ranking = candidates;
    for (size_t k = 0; k < tied.size(); ++k) ranking[tied[k]] = block[k];
    const auto rank = std::find(ranking.begin(), ranking.end(), target) - ranking.begin();
    for (int64_t k : kRankCutoffs) {
      const std::string at = std::to_string(k);
      total["hr@" + at] += rank < k ? 1.0 : 0.0;
      total["ndcg@" + at] += rank < k ? 1.0 / std::log2(rank + 2.0) : 0.0;
      total["mrr@" + at] += rank < k ? 1.0 / (rank + 1.0) : 0.0;
    }
    ++orders;
  } while (std::next_permutation(block.begin(), block.end()));
  for (auto& [name, value] : total) value /= orders;
  return total;
}

TEST(RankingMetrics, MatchBruteForceWithTiesAndMasks) {
  std::mt19937_64 rng(9);
  const int64_t M = 30, B = 40;
  std::vector<std::vector<int64_t>> masked(B);
  std::vector<int64_t> targets(B);
  auto scores = torch::zeros({B, M});
  std::map<std::string, double> expected;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<float> row(M);
    for (auto& s : row) s = static_cast<float>(rng() % 8);  // coarse scores: many ties
    for (int64_t j = 0; j < M; ++j) scores[b][j] = row[j];
    targets[b] = 1 + static_cast<int64_t>(rng() % (M - 1));
    std::set<int64_t> mask;
    for (int k = 0; k < 12; ++k) mask.insert(1 + static_cast<int64_t>(rng() % (M - 1)));
    if (b % 3 == 0) mask.insert(targets[b]);  // a target already in the history
    masked[b].assign(mask.begin(), mask.end());
    // Keep the enumeration small: at most 6 tied competitors.
    int64_t ties = 0;
    for (int64_t j = 1; j < M; ++j)
      if (j != targets[b] && !mask.count(j) && row[j] == row[targets[b]]) ++ties;
    if (ties > 6) {
      for (int64_t j = 1; j < M; ++j)
        if (j != targets[b] && row[j] == row[targets[b]])
          row[j] = scores[b][j].item<float>() + 0.5f;
      for (int64_t j = 0; j < M; ++j) scores[b][j] = row[j];
    }
    for (const auto& [name, value] : brute_force(row, targets[b], mask))
      expected[name] += value / B;
  }
  RankingMetrics metrics;
  for (const auto& count : rank_counts(scores, torch::tensor(targets), masked)) metrics.add(count);
  EXPECT_EQ(metrics.users(), B);
  for (const auto& [name, value] : expected) EXPECT_NEAR(metrics.mean(name), value, 1e-9) << name;
}

TEST(RankingMetrics, ConstantScoresGiveTheAnalyticRandomBaseline) {
  // 101 candidates: E[hr@10] = 10/101, E[ndcg@10] = sum_{r<10} 1/log2(r+2) / 101.
  RankingMetrics metrics;
  metrics.add({0, 100});
  double ndcg = 0, mrr = 0;
  for (int r = 0; r < 10; ++r) ndcg += 1.0 / std::log2(r + 2.0), mrr += 1.0 / (r + 1.0);
  EXPECT_NEAR(metrics.mean("hr@10"), 10.0 / 101, 1e-12);
  EXPECT_NEAR(metrics.mean("ndcg@10"), ndcg / 101, 1e-12);
  EXPECT_NEAR(metrics.mean("mrr@10"), mrr / 101, 1e-12);
  RankingMetrics exact;
  exact.add({2, 0});
  EXPECT_DOUBLE_EQ(exact.mean("hr@1"), 0.0);
  EXPECT_DOUBLE_EQ(exact.mean("ndcg@5"), 0.5);
  EXPECT_DOUBLE_EQ(exact.mean("mrr@20"), 1.0 / 3);
}

TEST(FullRanking, ModelEvaluationMasksTheHistory) {
  // MF with hand-set vectors: user 1 prefers items 1 > 2 > 3 > 4.
  const auto data = test::make_sequences({{1, 2, 4}}, 5);
  auto mf = test::random_mf(2, 5, 1);
  {
    torch::NoGradGuard no_grad;
    mf->user_embedding->weight[1] = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f});
    for (int i = 1; i <= 4; ++i) {
      mf->item_embedding->weight[i].zero_();
      mf->item_embedding->weight[i][0] = static_cast<float>(5 - i);
    }
  }
  // Test target item 4 at position 2: items 1 and 2 are masked, only 3 is ahead: rank 1.
  const auto metrics = evaluate_recommender(*mf, data, {{0, 2}});
  EXPECT_DOUBLE_EQ(metrics.mean("hr@1"), 0.0);
  EXPECT_DOUBLE_EQ(metrics.mean("mrr@5"), 0.5);
  // The popularity of item 1 and 2 (training part {1}) does not matter once they are masked.
  const auto pop = evaluate_item_scores(torch::tensor({0.f, 5.f, 5.f, 1.f, 0.f}), data, {{0, 2}});
  EXPECT_DOUBLE_EQ(pop.mean("mrr@5"), 0.5);
}

}  // namespace
}  // namespace gavamoe
