// Cluster-gated mixture-of-experts feed-forward block (GaVaMoE): n_experts bias-free SwiGLU
// experts and one router per cluster. A token of a record in cluster c takes the softmax of
// router c's logits, keeps the top-k experts, renormalises their probabilities and outputs the
// weighted sum of those experts. With soft gating the routing probabilities are the
// gamma-weighted mix of every router's softmax, sum_c gamma_c softmax(router_c(x)), before top-k.
// With base_ffn "shared" a frozen base feed-forward block (the pretrained MLP) stays and the
// experts' output is added to it.
//
// Expert compute is grouped by expert: each expert runs once on the tokens routed to it
// (gathered with index_select) and its weighted output is scattered back with index_add_, so no
// expert ever runs on a token it was not chosen for. Routing probabilities are computed in
// float32 whatever the hidden dtype.
//
// With top_k = 1 the renormalised weight is always 1, so the routers learn only through the
// load-balancing loss.
//
// Shapes: B batch, T time, C hidden, N = B*T tokens, E experts, K clusters, k top_k.
// Parameter names: experts.<e>.{gate_proj,up_proj,down_proj}.weight, routers.<c>.weight,
// base.{gate_proj,up_proj,down_proj}.weight (shared only).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "gavamoe/model/feed_forward.hpp"

namespace gavamoe {

struct MoeFeedForwardOptions {
  int64_t hidden = 0;
  int64_t n_experts = 12;
  int64_t expert_width = 0;
  int64_t n_clusters = 1;
  int64_t top_k = 2;
  std::string gating = "hard";       // "hard": cluster's router; "soft": gamma-mixed routers
  std::string base_ffn = "replace";  // "replace": experts only; "shared": frozen base + experts
  bool load_balancing = false;       // compute the auxiliary loss on every forward
};

// The routing decision for N tokens.
struct ExpertRoutes {
  torch::Tensor probabilities;  // [N, E] float32, before top-k
  torch::Tensor experts;        // [N, k] int64, chosen experts, most probable first
  torch::Tensor weights;        // [N, k] float32, their renormalised probabilities
};

struct MoeFeedForwardImpl : FeedForwardImpl {
  // `base` is required for base_ffn "shared" (its parameters are frozen here) and ignored
  // otherwise. Throws gavamoe::Error on inconsistent options.
  explicit MoeFeedForwardImpl(const MoeFeedForwardOptions& options,
                              std::shared_ptr<FeedForwardImpl> base = nullptr);

  // hidden [B, T, C] -> [B, T, C]. Hard gating needs routing.clusters [B] (optional when
  // n_clusters is 1); soft gating needs routing.weights [B, K].
  torch::Tensor forward(const torch::Tensor& hidden, const Routing& routing) override;

  // The pieces of forward, public for benchmarks and tests.
  ExpertRoutes route(const torch::Tensor& hidden, const Routing& routing);
  // tokens [N, C] -> sum over each token's chosen experts of weight * expert(token), [N, C].
  torch::Tensor combine_experts(const torch::Tensor& tokens, const ExpertRoutes& routes);

  // Switch-style load-balancing loss of the last forward: E * sum_e f_e P_e, with f_e the share
  // of the N*k (token, slot) assignments sent to expert e and P_e the mean routing probability
  // of expert e over the tokens (1 when perfectly balanced). Undefined unless load_balancing.
  const torch::Tensor& last_aux_loss() const { return aux_loss_; }

  MoeFeedForwardOptions options;
  torch::nn::ModuleList experts;  // E x Mlp(C, expert_width)
  torch::nn::ModuleList routers;  // K x Linear(C -> E), no bias
  std::shared_ptr<FeedForwardImpl> base;

 private:
  torch::Tensor router_weights() const;  // [K, E, C]
  torch::Tensor aux_loss_;
};
TORCH_MODULE(MoeFeedForward);

}  // namespace gavamoe
