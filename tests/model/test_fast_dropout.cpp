// FastDropout (the dropout of SASRec and of LoRA adapters): keeps with probability 1 - p and
// scales by 1 / (1 - p), neighbours independent, the mask fixed by the seed whatever the thread
// count, the identity in eval mode, gradients through the kept elements only.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gavamoe/model/fast_dropout.hpp"

namespace gavamoe {
namespace {

TEST(FastDropout, KeepsWithProbabilityOneMinusPAndScales) {
  const auto x = torch::ones({200000});
  const auto mask = fast_dropout_mask(x, 0.3, 12345);
  const double kept = (mask > 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 0.7, 0.005);  // 5 standard deviations: 0.001
  EXPECT_FLOAT_EQ(mask.max().item<float>(), static_cast<float>(1.0 / 0.7));
  EXPECT_NEAR(mask.mean().item<double>(), 1.0, 0.01);
  // Neighbouring elements are independent: P(both kept) = 0.49.
  const auto pair = ((mask.slice(0, 0, -1) > 0) & (mask.slice(0, 1) > 0)).to(torch::kDouble);
  EXPECT_NEAR(pair.mean().item<double>(), 0.49, 0.006);
  // The seed decides, the thread count does not.
  EXPECT_TRUE(torch::equal(mask, fast_dropout_mask(x, 0.3, 12345)));
  EXPECT_FALSE(torch::equal(mask, fast_dropout_mask(x, 0.3, 12346)));
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  EXPECT_TRUE(torch::equal(mask, fast_dropout_mask(x, 0.3, 12345)));
  torch::set_num_threads(threads);
  // Eval mode is the identity; gradients flow through the kept elements.
  FastDropout dropout(0.5);
  dropout->eval();
  EXPECT_TRUE(torch::equal(dropout(x), x));
  dropout->train();
  auto w = torch::ones({1000}, torch::requires_grad());
  dropout(w).sum().backward();
  const auto g = w.grad();
  EXPECT_TRUE(((g == 0) | (g == 2.0)).all().item<bool>());
}

}  // namespace
}  // namespace gavamoe
