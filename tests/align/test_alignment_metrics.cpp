// Alignment metrics: Python's strip / lower / split semantics, the five task metrics against
// golden numbers from tests/golden/alignment_metrics_reference.py (a transcription of the
// original's calculate_rank_metrics, calculate_rec_metrics and coverage loop; the numbers below
// are what `~/.cache/gavamoe/venv/bin/python tests/golden/alignment_metrics_reference.py`
// printed), the chance levels against brute force over permutations, and the per-task means.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using Strings = std::vector<std::string>;

TEST(AlignmentMetrics, NormaliseStripsPythonWhitespaceAndLowersAscii) {
  EXPECT_EQ(normalise_answer("  Toy Story (1995)\t\n"), "toy story (1995)");
  EXPECT_EQ(normalise_answer("\x1c\x1f\v\fABC\r"), "abc");
  EXPECT_EQ(normalise_answer(""), "");
  EXPECT_EQ(normalise_answer(" \n "), "");
  // UTF-8 bytes pass untouched: É stays upper case, a no-break space is not stripped.
  EXPECT_EQ(normalise_answer("\xC3\x89T\xC3\x89 \xC2\xA0"), "\xC3\x89t\xC3\x89 \xC2\xA0");
}

TEST(AlignmentMetrics, SplitIsPythonStrSplit) {
  EXPECT_EQ(split_text("", "; "), Strings({""}));
  EXPECT_EQ(split_text("a", "; "), Strings({"a"}));
  EXPECT_EQ(split_text("a; ", "; "), Strings({"a", ""}));
  EXPECT_EQ(split_text("; ", "; "), Strings({"", ""}));
  EXPECT_EQ(split_text("a; ; b", "; "), Strings({"a", "", "b"}));
  EXPECT_EQ(split_text("a;b; c", "; "), Strings({"a;b", "c"}));
  EXPECT_EQ(split_text("a; ; ", "; "), Strings({"a", "", ""}));
  EXPECT_THROW(split_text("a", ""), Error);
}

TEST(AlignmentMetrics, GeneratedAnswerCutsAtEachEndMarker) {
  const Strings markers = {"<|im_end|>", "<|endoftext|>"};
  EXPECT_EQ(generated_answer(" Toy Story (1995)<|im_end|>\nmore<|endoftext|>", markers),
            "toy story (1995)");
  EXPECT_EQ(generated_answer("Fargo<|endoftext|><|im_end|>", markers), "fargo");
  EXPECT_EQ(generated_answer("No marker at all ", markers), "no marker at all");
  EXPECT_EQ(generated_answer("<|im_end|>", markers), "");
  EXPECT_EQ(generated_answer("A <|im_end|>", {}), "a <|im_end|>");
}

TEST(AlignmentMetrics, NextItemHitNdcgMatchesTheOriginal) {
  // golden: hit 1, ndcg 0.63092975357145753 (match at beam 1)
  const auto first =
      next_item_hit_ndcg({"x", " Toy Story (1995) ", "y", "z", "w"}, "toy story (1995)");
  EXPECT_EQ(first.hit, 1.0);
  EXPECT_DOUBLE_EQ(first.ndcg, 0.63092975357145753);
  const double at[5] = {1, 0.63092975357145753, 0.5, 0.43067655807339306, 0.38685280723454163};
  for (int j = 0; j < 5; ++j) {
    Strings beams = {"a", "b", "c", "d", "e", "label"};
    beams[j] = "LABEL";
    beams[(j + 1) % 5] = "label";  // a later (or, for j = 4, earlier) second match
    const auto score = next_item_hit_ndcg(beams, "Label");
    EXPECT_EQ(score.hit, 1.0);
    EXPECT_DOUBLE_EQ(score.ndcg, j == 4 ? 1.0 : at[j]) << j;
  }
  // Only the first five beams count.
  const auto sixth = next_item_hit_ndcg({"a", "b", "c", "d", "e", "label"}, "label");
  EXPECT_EQ(sixth.hit, 0.0);
  EXPECT_EQ(sixth.ndcg, 0.0);
  EXPECT_EQ(next_item_hit_ndcg({}, "label").hit, 0.0);
}

TEST(AlignmentMetrics, RankNdcgMatchesTheOriginal) {
  const Strings labels = {"Alpha (1990)", "Beta", "Gamma", "Delta", "Epsilon"};
  const std::vector<std::pair<std::string, double>> golden = {
      {"alpha (1990); beta; gamma; delta; epsilon", 1},
      {"epsilon; delta; gamma; beta; alpha (1990)", 0.40761979579466595},
      {"ALPHA (1990); x; y", 0.9358707205101191},
      {" Beta ; alpha (1990); alpha (1990); gamma; delta; epsilon", 0.68844837513975121},
      {"", 0},
      {"alpha (1990); alpha (1990); alpha (1990); alpha (1990); alpha (1990)", 0.9358707205101191},
      {"beta; gamma; delta; epsilon; alpha (1990)", 0.46200390967988159},
      {"alpha (1990), beta, gamma, delta, epsilon", 0},
      {"x;gamma; beta", 0.059046868306619184},
      {"delta; ; beta; ", 0.047729406746016077},
  };
  for (const auto& [prediction, value] : golden)
    EXPECT_NEAR(rank_ndcg(prediction, labels), value, 1e-15) << prediction;
  // IDCG of five labels is the original's constant (golden: 1068.5236519152193).
  EXPECT_NEAR(1000 / rank_ndcg("alpha (1990)", labels), 1068.5236519152193, 1e-9);

  // Fewer labels: IDCG over the first len(labels) rel values.
  const Strings two = {"Xi", "Omicron"};
  EXPECT_NEAR(rank_ndcg("omicron; xi", two), 0.68755016777897693, 1e-15);
  EXPECT_NEAR(rank_ndcg("xi", two), 0.94065149820414362, 1e-15);
  EXPECT_NEAR(rank_ndcg("omicron", two), 0.094065149820414362, 1e-15);
  EXPECT_EQ(rank_ndcg("xi", {}), 0.0);
  EXPECT_THROW(rank_ndcg("a", {"a", "b", "c", "d", "e", "f"}), Error);
}

TEST(AlignmentMetrics, RandomRankNdcgIsTheMeanOverAllPermutations) {
  // golden: 0.61313347162761966 (mean over the 120 permutations of five titles)
  EXPECT_NEAR(random_rank_ndcg(), 0.61313347162761966, 1e-14);
  const double golden[4] = {1, 0.84377508388948841, 0.73817919133659837, 0.66585905869663364};
  for (int n = 1; n <= 5; ++n) {
    Strings labels = {"a", "b", "c", "d", "e"};
    labels.resize(n);
    Strings order = labels;
    double sum = 0;
    int count = 0;
    do {
      std::string prediction;
      for (size_t k = 0; k < order.size(); ++k) prediction += (k ? "; " : "") + order[k];
      sum += rank_ndcg(prediction, labels);
      ++count;
    } while (std::next_permutation(order.begin(), order.end()));
    EXPECT_NEAR(random_rank_ndcg(n), sum / count, 1e-14) << n;
    if (n < 5) {
      EXPECT_NEAR(random_rank_ndcg(n), golden[n - 1], 1e-14) << n;
    }
  }
  EXPECT_THROW(random_rank_ndcg(0), Error);
  EXPECT_THROW(random_rank_ndcg(6), Error);
}

TEST(AlignmentMetrics, RandomNextItemIsTheMeanOverAllItems) {
  // golden for 1682 items: hr 0.002972651605231867, ndcg 0.0017529483465394723
  const auto chance = random_next_item_hit_ndcg(1682);
  EXPECT_NEAR(chance.hit, 0.002972651605231867, 1e-17);
  EXPECT_NEAR(chance.ndcg, 0.0017529483465394723, 1e-17);
  // Brute force: 7 items, the beams are items 0..4 and the label runs over all 7.
  const Strings beams = {"i0", "i1", "i2", "i3", "i4"};
  HitNdcg mean;
  for (int label = 0; label < 7; ++label) {
    const auto score = next_item_hit_ndcg(beams, "i" + std::to_string(label));
    mean.hit += score.hit / 7;
    mean.ndcg += score.ndcg / 7;
  }
  EXPECT_NEAR(random_next_item_hit_ndcg(7).hit, mean.hit, 1e-15);
  EXPECT_NEAR(random_next_item_hit_ndcg(7).ndcg, mean.ndcg, 1e-15);
  EXPECT_EQ(random_next_item_hit_ndcg(3).hit, 1.0);
  EXPECT_THROW(random_next_item_hit_ndcg(0), Error);
  EXPECT_EQ(kRandomBinaryAccuracy, 0.5);
}

TEST(AlignmentMetrics, HistoryCoverageMatchesTheOriginal) {
  const Strings history = {"Toy Story (1995)", "Heat (1995)", "Fargo (1996)"};
  const std::vector<std::pair<std::string, double>> golden = {
      {"toy story (1995); fargo (1996)", 0.66666666666666663},
      {"Fargo (1996); fargo (1996); fargo (1996); heat (1995)", 1},
      {"", 0},
      {"heat (1995);fargo (1996)", 0},
      {" HEAT (1995) ; x; toy story (1995)", 0.66666666666666663},
  };
  for (const auto& [prediction, value] : golden)
    EXPECT_EQ(history_coverage(prediction, history), value) << prediction;
  // 1/7 accumulated seven times, as the original does: 0.99999999999999978, not 1.
  const Strings seven = {"a", "b", "c", "d", "e", "f", "g"};
  EXPECT_EQ(history_coverage("a; b; c; d; e; f; g", seven), 0.99999999999999978);
  EXPECT_EQ(history_coverage("a", {}), 0.0);
}

TEST(AlignmentMetrics, TitleAndBinary) {
  EXPECT_EQ(title_accuracy(" Toy Story (1995)\n", "toy story (1995)"), 1.0);
  EXPECT_EQ(title_accuracy("Toy Story", "toy story (1995)"), 0.0);
  EXPECT_EQ(binary_correct(2.0, 1.0, true), 1.0);
  EXPECT_EQ(binary_correct(1.0, 1.0, true), 1.0);  // a tie is Yes
  EXPECT_EQ(binary_correct(1.0, 1.0, false), 0.0);
  EXPECT_EQ(binary_correct(0.5, 1.0, false), 1.0);
  EXPECT_EQ(binary_correct(0.5, 1.0, true), 0.0);
}

TEST(AlignmentMetrics, MeansPerTask) {
  AlignMetricMeans means;
  means.add("uid2next", {{"hit", 1}, {"ndcg", 0.5}});
  means.add("uid2next", {{"hit", 0}, {"ndcg", 0}});
  means.add("uid2next", {{"hit", 1}, {"ndcg", 1}});
  means.add("uidiid2binary", {{"accuracy", 1}});
  means.add("uidiid2binary", {});
  const auto json = means.to_json();
  EXPECT_DOUBLE_EQ(json["uid2next"]["hit"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(json["uid2next"]["ndcg"].get<double>(), 0.5);
  EXPECT_EQ(json["uid2next"]["samples"], 3);
  EXPECT_EQ(json["uidiid2binary"]["accuracy"], 1.0);
  EXPECT_EQ(json["uidiid2binary"]["samples"], 2);
  EXPECT_EQ(json.size(), 2u);
  EXPECT_THROW(means.add("x", {{"samples", 1}}), Error);
  EXPECT_EQ(AlignMetricMeans().to_json(), nlohmann::json::object());
}

}  // namespace
}  // namespace gavamoe
