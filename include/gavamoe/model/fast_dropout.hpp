// FastDropout: inverted dropout (zero with probability p, else scale by 1 / (1 - p)) whose mask
// comes from a counter-based hash instead of LibTorch's per-element Bernoulli draws, which cost
// about 30 ns per element on the CPU, run on one thread, and were a third of a SASRec training
// step and a tenth of a LoRA step on SmolLM2.
//
// Each call takes one 64-bit seed from LibTorch's default generator (so torch::manual_seed
// fixes it, and a resumed run repeats it), then element i keeps when a 16-bit uniform from
// splitmix64(seed, i / 4) is at least round(p * 65536): p is used at 1/65536 resolution. The
// mask does not depend on the thread count. In eval mode (or p = 0) it is the identity. On
// other devices than the CPU it is LibTorch's own dropout (its GPU generator is fast).
#pragma once

#include <torch/torch.h>

namespace gavamoe {

// The float mask {0, 1 / (1 - p)} of `like`'s shape, dtype and device.
torch::Tensor fast_dropout_mask(const torch::Tensor& like, double p, uint64_t seed);

class FastDropoutImpl : public torch::nn::Module {
 public:
  explicit FastDropoutImpl(double p = 0.5);
  torch::Tensor forward(const torch::Tensor& x);

  double p;
};
TORCH_MODULE(FastDropout);

}  // namespace gavamoe
