// The feed-forward block of a decoder layer, behind one interface so that a layer can hold the
// plain SwiGLU MLP or a mixture of experts. Shapes: B batch, T time, C hidden.
#pragma once

#include <torch/torch.h>

namespace gavamoe {

// Per-sequence routing information for feed-forward blocks that route (mixtures of experts);
// plain blocks ignore it. Both tensors may be undefined.
struct Routing {
  torch::Tensor clusters;  // [B] int64: the cluster (gate) of each sequence
  torch::Tensor weights;   // [B, K] float: soft cluster responsibilities
};

struct FeedForwardImpl : torch::nn::Module {
  // hidden [B, T, C] -> [B, T, C]
  virtual torch::Tensor forward(const torch::Tensor& hidden, const Routing& routing) = 0;
};

// SwiGLU: down(silu(gate(x)) * up(x)), no biases (HF names gate_proj, up_proj, down_proj).
struct MlpImpl : FeedForwardImpl {
  MlpImpl(int64_t hidden_size, int64_t intermediate_size);
  torch::Tensor forward(const torch::Tensor& hidden, const Routing& routing) override;

  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace gavamoe
