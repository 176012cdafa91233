// LoRA (low-rank adaptation, PEFT layout) around an existing torch::nn::Linear:
//   y = x W^T (+ bias) + scaling * dropout(x) A^T B^T,   scaling = alpha / r.
// The base Linear is shared, not copied, and frozen; A [r, in] starts Kaiming-uniform
// (a = sqrt(5), as PEFT does) and B [out, r] at zero, so a fresh adapter leaves the output
// unchanged. Dropout acts on the input of the LoRA path only; it is FastDropout
// (fast_dropout.hpp): PEFT's rule with a counter-based mask.
// The adapters are created in the base's dtype; they may be cast to another one afterwards (a
// frozen bfloat16 base with float32 adapters): forward then runs the adapter path in the
// adapters' dtype and adds its output in the base's, and merge() returns the wider dtype.
// Parameter names (PEFT's): base_layer.weight (.bias), lora_A.weight, lora_B.weight.
#pragma once

#include <torch/torch.h>

#include "gavamoe/model/fast_dropout.hpp"

namespace gavamoe {

struct LoraOptions {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0.1;
};

struct LoraLinearImpl : torch::nn::Module {
  LoraLinearImpl(torch::nn::Linear base, const LoraOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // [.., in] -> [.., out]
  // W + scaling * B A [out, in]: the weight of a plain Linear equal to this one in eval mode.
  // The module is left unchanged.
  torch::Tensor merge() const;

  double scaling;
  torch::nn::Linear base_layer{nullptr}, lora_A{nullptr}, lora_B{nullptr};
  FastDropout dropout{nullptr};
};
TORCH_MODULE(LoraLinear);

}  // namespace gavamoe
