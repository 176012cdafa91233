// MF's negatives (uniform over 1..M-1, never the positive or an excluded item, the padding id
// after 100 failed tries) and its sampled softmax; the label rules of rec label: top1 and the 5
// positions come from the ranking with the history masked, in rank order and uniformly spread;
// pos from the top 20 %, neg from the bottom 50 % (or the lower half of the unmasked ranking);
// sim_item is the dot-product argmax; the files are deterministic under the seed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>

#include "gavamoe/rec/full_ranking.hpp"
#include "gavamoe/rec/labels.hpp"
#include "gavamoe/rec/negative_sampler.hpp"
#include "rec_fixtures.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

TEST(NegativeSampler, UniformOverAllowedItems) {
  const int64_t M = 21, K = 50;
  NegativeSampler sampler(M, K, {{1, 2, 3, 4, 5}, {}});
  Rng rng(3);
  std::vector<int64_t> counts(M, 0);
  const int rounds = 400;
  for (int r = 0; r < rounds; ++r) {
    const auto groups = sampler.groups({0, 1}, {7, 7}, rng);
    ASSERT_EQ(groups.size(1), K + 1);
    EXPECT_EQ(groups[0][0].item<int64_t>(), 7);
    for (int64_t k = 1; k <= K; ++k) {
      const int64_t item = groups[0][k].item<int64_t>();
      ASSERT_TRUE(item >= 6 && item != 7 && item < M) << item;  // not 0, 1..5 or the positive
      ++counts[item];
      ASSERT_NE(groups[1][k].item<int64_t>(), 7);
    }
  }
  // 14 allowed items, each expected rounds * K / 14 times: a chi-square test (13 degrees of
  // freedom; 34.5 is the 0.999 quantile).
  const double expected = rounds * K / 14.0;
  double chi2 = 0;
  for (int64_t item = 6; item < M; ++item)
    if (item != 7) chi2 += std::pow(counts[item] - expected, 2) / expected;
  EXPECT_LT(chi2, 34.5);
  // Every item excluded: 100 tries fail, the negative is the padding id.
  std::vector<int64_t> all(M - 1);
  std::iota(all.begin(), all.end(), 1);
  NegativeSampler none(M, 3, {all});
  const auto groups = none.groups({0}, {2}, rng);
  EXPECT_EQ(groups.slice(1, 1).sum().item<int64_t>(), 0);
}

TEST(NegativeSampler, DrawsAreReproducibleFromTheSeed) {
  NegativeSampler sampler(100, 10, {{1}});
  Rng a(5), b(5), c(6);
  EXPECT_TRUE(torch::equal(sampler.groups({0}, {3}, a), sampler.groups({0}, {3}, b)));
  EXPECT_FALSE(torch::equal(sampler.groups({0}, {3}, a), sampler.groups({0}, {3}, c)));
}

TEST(Sampling, DrawDistinctIsUniform) {
  Rng rng(1);
  std::vector<int64_t> first(10, 0);
  for (int r = 0; r < 20000; ++r) {
    const auto drawn = draw_distinct(rng, 10, 4);
    std::set<int64_t> unique(drawn.begin(), drawn.end());
    ASSERT_EQ(unique.size(), 4u);
    ++first[drawn[0]];
  }
  for (int64_t c : first) EXPECT_NEAR(c, 2000, 200);
}

// The scores a label row was made from, recomputed: [M].
std::vector<float> row_scores(Recommender& model, const SequenceDataset& data,
                              const SequenceTarget& t) {
  torch::NoGradGuard no_grad;
  const auto batch = make_user_batch(data, {t}, 0, 1, model.history_length());
  const auto s = model.scores(batch)[0].contiguous();
  return std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
}

TEST(Labels, RowsFollowTheRules) {
  const int64_t M = 60;
  const auto data = test::random_sequences(12, M, 6, 40, 4);
  auto model = test::random_sasrec(M, 8);
  const auto split = leave_one_out(data, HoldoutMode::original);
  LabelReport report;
  const auto rows = label_rows(*model, data, split.train, 1, 7, 1, 16, &report);
  ASSERT_EQ(rows.size(), split.train.size());
  int64_t fallback = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const SequenceTarget& t = split.train[r];
    const auto& sequence = data.sequences[t.user];
    const std::set<int64_t> history(sequence.begin(), sequence.begin() + t.position);
    const auto scores = row_scores(*model, data, t);
    // The filtered ranking F, recomputed: descending score, masked ids left out.
    std::vector<int64_t> F;
    for (int64_t j = 1; j < M; ++j)
      if (!history.count(j)) F.push_back(j);
    std::stable_sort(F.begin(), F.end(),
                     [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
    const LabelRow& row = rows[r];
    EXPECT_EQ(row.uid, data.users[t.user]);
    EXPECT_EQ(row.iid, sequence[t.position]);
    EXPECT_EQ(row.top1, F[0]);
    std::vector<size_t> positions;
    for (int64_t item : row.topk) {
      ASSERT_FALSE(history.count(item));
      positions.push_back(std::find(F.begin(), F.end(), item) - F.begin());
    }
    EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
    EXPECT_EQ(std::set<size_t>(positions.begin(), positions.end()).size(), 5u);
    // pos: above the score at rank M/5 of the full ranking (masked ids last).
    std::vector<float> full(F.size());
    for (size_t k = 0; k < F.size(); ++k) full[k] = scores[F[k]];
    auto at_rank = [&](int64_t k) {
      return k < static_cast<int64_t>(F.size()) ? full[k] : -INFINITY;
    };
    EXPECT_GT(scores[row.pos], at_rank(M / 5));
    EXPECT_FALSE(history.count(row.pos));
    EXPECT_NEAR(row.pos_score, scores[row.pos], 1e-5);  // another batch size
    EXPECT_NEAR(row.neg_score, scores[row.neg], 1e-5);
    EXPECT_FALSE(history.count(row.neg));
    EXPECT_NE(row.neg, 0);
    // neg: below the score at rank M/2; when no unmasked item is (the threshold lies at the
    // end of F or among the masked ids), from the lower half of F.
    const float neg_threshold = at_rank(M / 2);
    const bool any_below =
        std::any_of(F.begin(), F.end(), [&](int64_t j) { return scores[j] < neg_threshold; });
    if (!any_below) {
      ++fallback;
      const auto rank = std::find(F.begin(), F.end(), row.neg) - F.begin();
      EXPECT_GE(rank, static_cast<int64_t>(F.size()) / 2);
    } else {
      EXPECT_LT(scores[row.neg], neg_threshold);
    }
  }
  EXPECT_EQ(report.neg_from_lower_half, fallback);
  EXPECT_GT(fallback, 0);  // long histories (up to 40 of 59 items) take that path
  EXPECT_LT(fallback, static_cast<int64_t>(rows.size()));
}

TEST(Labels, TopkPositionsSpreadUniformlyAndPosNegSplit) {
  // One user, many repetitions of the same target under different seeds: every position of F
  // is drawn equally often (5/|F| each), pos always in the top 20 %, neg in the bottom half.
  const int64_t M = 31;
  const auto data = test::make_sequences({{1, 2, 3}}, M);
  auto model = test::random_sasrec(M, 2);
  const SequenceTarget t{0, 2};
  const auto scores = row_scores(*model, data, t);
  std::vector<int64_t> F;
  for (int64_t j = 3; j < M; ++j) F.push_back(j);
  std::stable_sort(F.begin(), F.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  std::vector<int64_t> hits(F.size(), 0), pos_hits(F.size(), 0);
  // The same target n times in one call: each row has its own draws.
  const int n = 3000;
  const auto rows =
      label_rows(*model, data, std::vector<SequenceTarget>(n, t), 1, 5, 1, 512, nullptr);
  for (const auto& row : rows) {
    for (int64_t item : row.topk) ++hits[std::find(F.begin(), F.end(), item) - F.begin()];
    ++pos_hits[std::find(F.begin(), F.end(), row.pos) - F.begin()];
    const auto neg_rank = std::find(F.begin(), F.end(), row.neg) - F.begin();
    ASSERT_GT(neg_rank, M / 2);
  }
  const double expected = 5.0 * n / F.size();
  for (int64_t h : hits) EXPECT_NEAR(h, expected, 5 * std::sqrt(expected));
  for (size_t k = 0; k < F.size(); ++k) {
    if (k < static_cast<size_t>(M / 5)) {
      EXPECT_GT(pos_hits[k], 0) << k;
    } else {
      EXPECT_EQ(pos_hits[k], 0) << k;
    }
  }
}

TEST(Labels, TimesGivesRanksInOrderAndDistinctPosNeg) {
  const int64_t M = 80;
  const auto data = test::random_sequences(5, M, 5, 10, 2);
  auto mf = test::random_mf(6, M, 3);
  const auto split = leave_one_out(data, HoldoutMode::original);
  const auto rows = label_rows(*mf, data, split.test, 6, 1, 2, 64, nullptr);
  ASSERT_EQ(rows.size(), split.test.size() * 6);
  for (size_t u = 0; u < split.test.size(); ++u) {
    const auto scores = row_scores(*mf, data, split.test[u]);
    std::set<int64_t> pos, neg;
    for (int r = 0; r < 6; ++r) {
      const LabelRow& row = rows[u * 6 + r];
      if (r > 0) {
        EXPECT_GE(scores[rows[u * 6 + r - 1].top1], scores[row.top1]);
      }
      pos.insert(row.pos);
      neg.insert(row.neg);
    }
    EXPECT_EQ(pos.size(), 6u);
    EXPECT_EQ(neg.size(), 6u);
  }
}

TEST(Labels, SimilarItemIsTheDotProductArgmax) {
  auto mf = test::random_mf(3, 25, 4);
  const auto similar = similar_items(*mf);
  const auto E = mf->item_embedding->weight.detach();
  for (int64_t i = 1; i < 25; ++i) {
    int64_t best = -1;
    float best_dot = -INFINITY;
    for (int64_t j = 1; j < 25; ++j) {
      if (j == i) continue;
      const float dot = E[i].dot(E[j]).item<float>();
      if (dot > best_dot) best_dot = dot, best = j;
    }
    EXPECT_EQ(similar[i], best) << i;
  }
}

TEST(Labels, FilesAreDeterministicAndInRecAiFormat) {
  const std::string dir = test::scratch_dir();
  const int64_t M = 40;
  const auto data = test::random_sequences(6, M, 5, 9, 5);
  auto model = test::random_sasrec(M, 6);
  LabelOptions options;
  options.seed = 11;
  const auto report = write_labels(*model, data, dir + "/a", options);
  write_labels(*model, data, dir + "/b", options);
  options.seed = 12;
  write_labels(*model, data, dir + "/c", options);
  for (const char* file : {"train_top.txt", "test_top.txt", "sim_item.txt"})
    EXPECT_EQ(test::read_text(dir + "/a/" + file), test::read_text(dir + "/b/" + file)) << file;
  EXPECT_NE(test::read_text(dir + "/a/train_top.txt"), test::read_text(dir + "/c/train_top.txt"));
  int64_t interactions = 0;
  for (const auto& s : data.sequences) interactions += static_cast<int64_t>(s.size()) - 2;
  EXPECT_EQ(report.train_rows, interactions);
  EXPECT_EQ(report.test_rows, 6);
  // uid iid top1 t1,...,t5 pos neg pos_score neg_score; scores read back as the same float.
  std::istringstream lines(test::read_text(dir + "/a/test_top.txt"));
  std::string line;
  int64_t u = 0;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) fields.push_back(cell);
    ASSERT_EQ(fields.size(), 8u) << line;
    EXPECT_EQ(fields[0], std::to_string(data.users[u]));
    EXPECT_EQ(fields[1], std::to_string(data.sequences[u].back()));
    EXPECT_EQ(std::count(fields[3].begin(), fields[3].end(), ','), 4);
    const auto scores =
        row_scores(*model, data, {u, static_cast<int64_t>(data.sequences[u].size()) - 1});
    EXPECT_NEAR(std::stof(fields[6]), scores[std::stoll(fields[4])], 1e-5);
    ++u;
  }
  EXPECT_EQ(u, 6);
  const std::string sim = test::read_text(dir + "/a/sim_item.txt");
  EXPECT_EQ(std::count(sim.begin(), sim.end(), '\n'), M - 1);
}

}  // namespace
}  // namespace gavamoe
