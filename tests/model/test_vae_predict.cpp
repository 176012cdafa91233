// VAE predictions at inference: the expected rating agrees with the decoder's class
// probabilities summed by hand in float64; pairs get their table rows and the clusters of
// assign_clusters; unknown ids follow the policy.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/vae_predict.hpp"
#include "small_vae.hpp"

namespace gavamoe {
namespace {

TrainedVae small_vae() { return test::random_trained_vae({"a", "b", "c"}, {"x", "y"}, 4, 3, 5); }

// sum_c softmax(logits)_c (c + 1), written out.
double expected_by_hand(const torch::Tensor& logits_row) {
  double total = 0, weighted = 0;
  for (int64_t c = 0; c < kRatingClasses; ++c) {
    const double p = std::exp(logits_row[c].item<double>());
    total += p;
    weighted += p * static_cast<double>(c + 1);
  }
  return weighted / total;
}

TEST(VaePredict, ExpectedRatingIsTheMeanOfTheDecodedClasses) {
  TrainedVae vae = small_vae();
  vae.model->train();  // expected_ratings must switch to eval mode (no dropout) itself
  const auto users = torch::tensor({0, 1, 2, 3}, torch::kLong);
  const auto items = torch::tensor({1, 0, 2, 1}, torch::kLong);
  const auto ratings = expected_ratings(vae.model, users, items);
  ASSERT_EQ(ratings.scalar_type(), torch::kDouble);
  torch::NoGradGuard no_grad;
  const auto logits =
      vae.model->decode(vae.model->encode(users, items).mu).to(torch::kDouble);  // [4, 5]
  for (int64_t r = 0; r < 4; ++r) {
    const double value = ratings[r].item<double>();
    EXPECT_NEAR(value, expected_by_hand(logits[r]), 1e-6) << r;
    EXPECT_GE(value, 1.0);
    EXPECT_LE(value, 5.0);
  }
}

TEST(VaePredict, PairsGetRowsClustersAndRatings) {
  TrainedVae vae = small_vae();
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"c", "x"}, {"a", "y"}, {"b", "y"}};
  const auto predictions = predict_pairs(vae, pairs);
  const auto clusters = assign_clusters(vae, pairs);
  const auto ratings = expected_ratings(vae.model, torch::tensor({2, 0, 1}, torch::kLong),
                                        torch::tensor({0, 1, 1}, torch::kLong));
  ASSERT_EQ(predictions.size(), 3u);
  const int64_t user_rows[] = {2, 0, 1}, item_rows[] = {0, 1, 1};
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(predictions[r].user_row, user_rows[r]);
    EXPECT_EQ(predictions[r].item_row, item_rows[r]);
    EXPECT_EQ(predictions[r].assignment.cluster, clusters[r].cluster);
    EXPECT_EQ(predictions[r].assignment.gamma, clusters[r].gamma);
    EXPECT_NEAR(predictions[r].expected_rating, ratings[r].item<double>(), 1e-6);
  }
}

TEST(VaePredict, UnknownIdsAreNamedOrFallBackToTheUnknownRow) {
  TrainedVae vae = small_vae();
  const std::vector<std::pair<std::string, std::string>> pairs = {{"a", "x"}, {"zed", "x"}};
  try {
    predict_pairs(vae, pairs);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("user 'zed'"), std::string::npos) << e.what();
  }
  const auto predictions = predict_pairs(vae, pairs, UnknownIds::fallback);
  EXPECT_EQ(predictions[1].user_row, vae.model->unknown_user());
  EXPECT_EQ(predictions[1].item_row, 0);
  // The model computes in float32: another batch size may round differently.
  EXPECT_NEAR(predictions[1].expected_rating,
              expected_ratings(vae.model, torch::tensor({3}, torch::kLong),
                               torch::tensor({0}, torch::kLong))[0]
                  .item<double>(),
              1e-6);
}

}  // namespace
}  // namespace gavamoe
