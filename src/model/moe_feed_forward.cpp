// Cluster-gated mixture-of-experts feed-forward block: routing and grouped expert compute.
// Shapes: B batch, T time, C hidden, N = B*T tokens, E experts, K clusters, k top_k.
#include "gavamoe/model/moe_feed_forward.hpp"

#include <vector>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

namespace nn = torch::nn;

namespace {

void check_options(const MoeFeedForwardOptions& o, bool has_base) {
  auto fail = [](const std::string& what) { throw Error("moe feed-forward: " + what); };
  if (o.hidden <= 0 || o.n_experts <= 0 || o.expert_width <= 0 || o.n_clusters <= 0)
    fail("hidden, n_experts, expert_width and n_clusters must be positive");
  if (o.top_k < 1 || o.top_k > o.n_experts)
    fail("top_k " + std::to_string(o.top_k) +
         " is not in [1, n_experts = " + std::to_string(o.n_experts) + "]");
  if (o.gating != "hard" && o.gating != "soft")
    fail("gating '" + o.gating + "' is neither 'hard' nor 'soft'");
  if (o.base_ffn != "replace" && o.base_ffn != "shared")
    fail("base_ffn '" + o.base_ffn + "' is neither 'replace' nor 'shared'");
  if (o.base_ffn == "shared" && !has_base) fail("base_ffn 'shared' needs the base feed-forward");
}

}  // namespace

MoeFeedForwardImpl::MoeFeedForwardImpl(const MoeFeedForwardOptions& options_,
                                       std::shared_ptr<FeedForwardImpl> base_)
    : options(options_) {
  check_options(options, base_ != nullptr);
  for (int64_t e = 0; e < options.n_experts; ++e)
    experts->push_back(Mlp(options.hidden, options.expert_width));
  for (int64_t c = 0; c < options.n_clusters; ++c)
    routers->push_back(
        nn::Linear(nn::LinearOptions(options.hidden, options.n_experts).bias(false)));
  register_module("experts", experts);
  register_module("routers", routers);
  if (options.base_ffn == "shared") {
    base = register_module("base", std::move(base_));
    for (auto& p : base->parameters()) p.requires_grad_(false);
  }
}

torch::Tensor MoeFeedForwardImpl::router_weights() const {
  std::vector<torch::Tensor> weights;
  for (const auto& router : *routers) weights.push_back(router->as<nn::Linear>()->weight);
  return torch::stack(weights);
}

ExpertRoutes MoeFeedForwardImpl::route(const torch::Tensor& hidden, const Routing& routing) {
  const int64_t b = hidden.size(0), t = hidden.size(1), n_clusters = options.n_clusters,
                n_experts = options.n_experts;
  const auto x = hidden.to(torch::kFloat);
  const auto weights = router_weights().to(torch::kFloat);  // [K, E, C]
  // Every router's logits in one product: [B, T, K, E].
  const auto logits = torch::matmul(x, weights.view({n_clusters * n_experts, -1}).t())
                          .view({b, t, n_clusters, n_experts});
  torch::Tensor probabilities;  // [B, T, E]
  if (options.gating == "hard") {
    torch::Tensor clusters = routing.clusters;
    if (!clusters.defined()) {
      if (n_clusters != 1) throw Error("moe feed-forward: hard gating needs the record clusters");
      clusters = torch::zeros({b}, torch::dtype(torch::kLong).device(hidden.device()));
    }
    TORCH_CHECK(clusters.dim() == 1 && clusters.size(0) == b, "routing.clusters must be [B]");
    const auto own = clusters.view({b, 1, 1, 1}).expand({b, t, 1, n_experts});
    probabilities = torch::softmax(logits.gather(2, own).squeeze(2), -1);
  } else {
    const auto& gamma = routing.weights;
    if (!gamma.defined()) throw Error("moe feed-forward: soft gating needs the cluster weights");
    TORCH_CHECK(gamma.dim() == 2 && gamma.size(0) == b && gamma.size(1) == n_clusters,
                "routing.weights must be [B, n_clusters]");
    probabilities =
        (torch::softmax(logits, -1) * gamma.to(torch::kFloat).view({b, 1, n_clusters, 1})).sum(2);
  }
  probabilities = probabilities.reshape({-1, n_experts});
  auto [top, experts_chosen] = probabilities.topk(options.top_k, -1);
  return {probabilities, experts_chosen, top / top.sum(-1, true)};
}

torch::Tensor MoeFeedForwardImpl::combine_experts(const torch::Tensor& tokens,
                                                  const ExpertRoutes& routes) {
  const int64_t k = options.top_k;
  // The N*k (token, expert, weight) assignments sorted by expert, so each expert's tokens are
  // one contiguous run; one host sync for the run lengths.
  const auto expert_of = routes.experts.reshape(-1);
  const auto order = expert_of.argsort();
  const auto token_of = torch::arange(tokens.size(0), expert_of.options())
                            .repeat_interleave(k)
                            .index_select(0, order);
  // The experts' dtype may differ from the tokens' (float32 experts in a bfloat16 base): they
  // compute and sum in their own, and the sum is returned in the tokens' dtype.
  const auto expert_dtype = experts[0]->as<MlpImpl>()->down_proj->weight.scalar_type();
  const auto weight_of = routes.weights.reshape(-1).index_select(0, order).to(expert_dtype);
  const auto counts = torch::bincount(expert_of, {}, options.n_experts).to(torch::kCPU);
  const auto* count = counts.data_ptr<int64_t>();

  auto out = torch::zeros(tokens.sizes(), tokens.options().dtype(expert_dtype));
  int64_t start = 0;
  for (int64_t e = 0; e < options.n_experts; ++e) {
    if (count[e] == 0) continue;
    const auto rows = token_of.slice(0, start, start + count[e]);
    const auto y =
        experts[e]->as<MlpImpl>()->forward(tokens.index_select(0, rows).to(expert_dtype), {});
    out.index_add_(0, rows, y * weight_of.slice(0, start, start + count[e]).unsqueeze(1));
    start += count[e];
  }
  return out.to(tokens.scalar_type());
}

torch::Tensor MoeFeedForwardImpl::forward(const torch::Tensor& hidden, const Routing& routing) {
  const auto routes = route(hidden, routing);
  auto out = combine_experts(hidden.reshape({-1, hidden.size(-1)}), routes).view(hidden.sizes());
  if (options.load_balancing) {
    const auto assignments =
        torch::bincount(routes.experts.reshape(-1), {}, options.n_experts).to(torch::kFloat) /
        routes.experts.numel();
    aux_loss_ = options.n_experts * (assignments * routes.probabilities.mean(0)).sum();
  } else {
    aux_loss_ = torch::Tensor();
  }
  if (base) out = out + base->forward(hidden, routing);
  return out;
}

}  // namespace gavamoe
