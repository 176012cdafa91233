// few_rows_linear against a float64 brute-force product, for every row count the kernel takes,
// input widths with and without a tail of fewer than 8 columns, and output widths with and
// without a tail of fewer than a tile's rows; and the cases that must go to torch::linear.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gavamoe/model/few_rows_linear.hpp"

namespace gavamoe {
namespace {

// The kernel only exists on x86-64 processors with AVX2 and FMA.
bool kernel_available() {
  c10::InferenceMode inference;
  return few_rows_kernel_applies(torch::ones({1, 8}), torch::ones({4, 8}));
}

TEST(FewRowsLinear, MatchesAFloat64ProductForEveryRowCountAndTail) {
  torch::manual_seed(3);
  c10::InferenceMode inference;
  for (int64_t k : {5, 8, 37, 576})
    for (int64_t n : {1, 7, 25, 100})
      for (int64_t m = 1; m <= kFewRows; ++m) {
        const torch::Tensor x = torch::randn({m, k}), weight = torch::randn({n, k});
        const torch::Tensor expected =
            torch::matmul(x.to(torch::kFloat64), weight.to(torch::kFloat64).t());
        const torch::Tensor y = few_rows_linear(x, weight);
        ASSERT_EQ(y.sizes(), expected.sizes());
        const double error = (y.to(torch::kFloat64) - expected).abs().max().item<double>();
        EXPECT_LT(error, 1e-5 * std::sqrt(static_cast<double>(k)))
            << "m " << m << " k " << k << " n " << n;
      }
}

TEST(FewRowsLinear, KeepsLeadingDimensionsAddsTheBiasAndReadsStridedInput) {
  torch::manual_seed(4);
  c10::InferenceMode inference;
  const torch::Tensor x = torch::randn({3, 2, 40}).transpose(0, 1);  // [2, 3, 40], not contiguous
  const torch::Tensor weight = torch::randn({9, 40}), bias = torch::randn({9});
  const torch::Tensor y = few_rows_linear(x, weight, bias);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 9}));
  EXPECT_TRUE(torch::allclose(y, torch::linear(x, weight, bias), 1e-5, 1e-5));
}

TEST(FewRowsLinear, TakesOnlyShapesAndModesItCanServe) {
  if (!kernel_available()) GTEST_SKIP() << "no AVX2 + FMA on this processor";
  const torch::Tensor weight = torch::randn({4, 8});
  {
    c10::InferenceMode inference;
    EXPECT_TRUE(few_rows_kernel_applies(torch::ones({kFewRows, 8}), weight));
    EXPECT_FALSE(few_rows_kernel_applies(torch::ones({kFewRows + 1, 8}), weight));
    EXPECT_FALSE(
        few_rows_kernel_applies(torch::ones({1, 8}, torch::kFloat64), weight.to(torch::kFloat64)));
    EXPECT_FALSE(few_rows_kernel_applies(torch::ones({1, 4}), weight.t()));  // not contiguous
  }
  // Training: a gradient to record goes to torch::linear, and it arrives.
  const torch::Tensor x = torch::randn({2, 8}, torch::requires_grad());
  EXPECT_FALSE(few_rows_kernel_applies(x, weight));
  EXPECT_FALSE(few_rows_kernel_applies(torch::ones({2, 8}), weight,
                                       torch::zeros({4}, torch::requires_grad())));
  few_rows_linear(x, weight).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), weight.sum(0).expand({2, 8})));
}

}  // namespace
}  // namespace gavamoe
