// LoraLinear: a fresh adapter leaves the base output unchanged; with a random B the output is
// x W^T + b + scaling x A^T B^T written out with plain matmuls, and the merged weight gives the
// same output; only A and B train; dropout touches the LoRA path only.
// Shapes: B batch, T time, I in features, O out features, R rank.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/few_rows_linear.hpp"
#include "gavamoe/model/lora.hpp"

namespace gavamoe {
namespace {

constexpr int64_t kIn = 20, kOut = 12, kRank = 4;

LoraLinear make_lora(double dropout = 0.0, bool bias = true) {
  torch::set_num_threads(1);
  torch::manual_seed(9);
  torch::nn::Linear base(torch::nn::LinearOptions(kIn, kOut).bias(bias));
  return LoraLinear(base, LoraOptions{kRank, 16, dropout});
}

void randomise_b(LoraLinear& lora) {
  torch::NoGradGuard no_grad;
  lora->lora_B->weight.normal_();
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(LoraLinear, FreshAdapterLeavesBaseOutputUnchanged) {
  auto lora = make_lora();
  const auto x = torch::randn({3, 5, kIn});
  EXPECT_EQ(max_diff(lora->forward(x), few_rows_linear(lora->base_layer, x)), 0);
  EXPECT_EQ(lora->lora_B->weight.abs().max().item<double>(), 0);
}

TEST(LoraLinear, AStartsKaimingUniformLikePeft) {
  auto lora = make_lora();
  // kaiming_uniform_(a = sqrt(5)) bounds the values by 1 / sqrt(fan_in).
  const double bound = 1 / std::sqrt(static_cast<double>(kIn));
  const auto& a = lora->lora_A->weight;
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{kRank, kIn}));
  EXPECT_LE(a.abs().max().item<double>(), bound);
  EXPECT_GT(a.abs().max().item<double>(), 0.8 * bound);
  EXPECT_EQ(lora->lora_B->weight.sizes(), (std::vector<int64_t>{kOut, kRank}));
}

TEST(LoraLinear, OutputIsBasePlusScaledLowRankProduct) {
  for (bool bias : {true, false}) {
    auto lora = make_lora(0.0, bias);
    randomise_b(lora);
    const auto x = torch::randn({3, 5, kIn}, torch::kDouble);
    lora->to(torch::kDouble);
    const auto w = lora->base_layer->weight, a = lora->lora_A->weight, b = lora->lora_B->weight;
    auto expected = torch::matmul(x, w.t()) + 4.0 * torch::matmul(torch::matmul(x, a.t()), b.t());
    if (bias) expected += lora->base_layer->bias;
    EXPECT_DOUBLE_EQ(lora->scaling, 4.0);  // alpha 16 / rank 4
    EXPECT_LT(max_diff(lora->forward(x), expected), 1e-12);
  }
}

TEST(LoraLinear, MergedWeightGivesTheSameOutput) {
  auto lora = make_lora(0.3);
  randomise_b(lora);
  lora->eval();  // dropout off
  const auto x = torch::randn({4, 7, kIn});
  const auto merged = torch::nn::functional::linear(x, lora->merge(), lora->base_layer->bias);
  EXPECT_LT(max_diff(lora->forward(x), merged), 1e-5);
  EXPECT_FALSE(lora->merge().equal(lora->base_layer->weight));
}

TEST(LoraLinear, OnlyAAndBRequireGradient) {
  auto lora = make_lora();
  randomise_b(lora);
  for (const auto& item : lora->named_parameters())
    EXPECT_EQ(item.value().requires_grad(),
              item.key() == "lora_A.weight" || item.key() == "lora_B.weight")
        << item.key();
  EXPECT_EQ(lora->named_parameters().size(), 4);  // base weight and bias, A, B
  lora->forward(torch::randn({2, kIn})).sum().backward();
  EXPECT_TRUE(lora->lora_A->weight.grad().defined());
  EXPECT_TRUE(lora->lora_B->weight.grad().defined());
  EXPECT_FALSE(lora->base_layer->weight.grad().defined());
}

TEST(LoraLinear, DropoutActsOnTheLoraPathOnly) {
  auto lora = make_lora(0.5);
  lora->train();
  const auto x = torch::randn({6, kIn});
  // B = 0: the LoRA path is zero, so a dropout on the base path would show.
  EXPECT_EQ(max_diff(lora->forward(x), few_rows_linear(lora->base_layer, x)), 0);
  randomise_b(lora);
  // With random B, training-mode outputs vary with the dropout mask; eval mode is exact.
  EXPECT_GT(max_diff(lora->forward(x), lora->forward(x)), 0);
  lora->eval();
  EXPECT_EQ(max_diff(lora->forward(x), lora->forward(x)), 0);
}

TEST(LoraLinear, SharesTheBaseLinear) {
  torch::manual_seed(2);
  torch::nn::Linear base(torch::nn::LinearOptions(kIn, kOut));
  LoraLinear lora(base, LoraOptions{});
  EXPECT_EQ(lora->base_layer->weight.data_ptr(), base->weight.data_ptr());
  EXPECT_DOUBLE_EQ(lora->scaling, 2.0);  // defaults: rank 8, alpha 16
}

TEST(LoraLinear, RejectsBadOptions) {
  torch::nn::Linear base(torch::nn::LinearOptions(kIn, kOut));
  EXPECT_THROW(LoraLinear(base, LoraOptions{0, 16, 0.1}), Error);
  EXPECT_THROW(LoraLinear(base, LoraOptions{8, 16, 1.5}), Error);
}

}  // namespace
}  // namespace gavamoe
