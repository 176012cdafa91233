// MoeFeedForward: the output agrees with a direct per-token float64 computation (softmax, top-k
// by sorting, renormalise, sum over the chosen experts) for hard and soft gating, mixed clusters
// and top-k from 1 to n_experts; grouped expert compute equals every expert on every token with
// masked weights; gradients reach only the chosen experts and used routers; the shared base
// adds its output; the load-balancing loss matches a hand computation.
// Shapes: B batch, T time, C hidden, E experts, K clusters.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/moe_feed_forward.hpp"

namespace gavamoe {
namespace {

constexpr int64_t kHidden = 16, kExperts = 4, kWidth = 24, kClusters = 3;

MoeFeedForwardOptions options(int64_t top_k, const std::string& gating) {
  MoeFeedForwardOptions o;
  o.hidden = kHidden;
  o.n_experts = kExperts;
  o.expert_width = kWidth;
  o.n_clusters = kClusters;
  o.top_k = top_k;
  o.gating = gating;
  return o;
}

// Routers scaled up so that routing probabilities are far from uniform.
MoeFeedForward make_moe(const MoeFeedForwardOptions& o, std::shared_ptr<FeedForwardImpl> base = {},
                        uint64_t seed = 5) {
  torch::set_num_threads(1);
  torch::manual_seed(seed);
  MoeFeedForward moe(o, std::move(base));
  torch::NoGradGuard no_grad;
  for (auto& p : moe->routers->parameters()) p.mul_(4);
  return moe;
}

torch::Tensor weight_of(const std::shared_ptr<torch::nn::Module>& module, const char* name) {
  return module->named_parameters()[name].to(torch::kDouble);
}

// SwiGLU expert e on one token x [C], float64.
torch::Tensor reference_expert(MoeFeedForwardImpl& moe, int64_t e, const torch::Tensor& x) {
  const auto& expert = moe.experts[e];
  const auto gate = weight_of(expert, "gate_proj.weight").mv(x);
  const auto up = weight_of(expert, "up_proj.weight").mv(x);
  return weight_of(expert, "down_proj.weight").mv(gate * torch::sigmoid(gate) * up);
}

// Routing probabilities [E] of one token x [C] of a record with cluster weights `mix` [K]
// (one-hot for hard gating).
std::vector<double> reference_probabilities(MoeFeedForwardImpl& moe, const torch::Tensor& x,
                                            const std::vector<double>& mix) {
  std::vector<double> p(kExperts, 0.0);
  for (int64_t c = 0; c < kClusters; ++c) {
    if (mix[c] == 0) continue;
    const auto logits = weight_of(moe.routers[c], "weight").mv(x);
    std::vector<double> e(kExperts);
    double total = 0;
    for (int64_t j = 0; j < kExperts; ++j) total += e[j] = std::exp(logits[j].item<double>());
    for (int64_t j = 0; j < kExperts; ++j) p[j] += mix[c] * e[j] / total;
  }
  return p;
}

std::vector<int64_t> reference_top_k(const std::vector<double>& p, int64_t k) {
  std::vector<int64_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  order.resize(k);
  return order;
}

// Cluster weights of record b: one-hot of clusters[b] (hard) or gamma[b] (soft).
std::vector<double> mix_of(const MoeFeedForwardOptions& o, const torch::Tensor& clusters,
                           const torch::Tensor& gamma, int64_t b) {
  std::vector<double> mix(kClusters, 0.0);
  for (int64_t c = 0; c < kClusters; ++c)
    mix[c] = o.gating == "hard" ? (clusters[b].item<int64_t>() == c) : gamma[b][c].item<double>();
  return mix;
}

torch::Tensor reference_forward(MoeFeedForwardImpl& moe, const torch::Tensor& hidden,
                                const Routing& routing) {
  const auto h = hidden.to(torch::kDouble);
  auto out = torch::zeros(hidden.sizes(), torch::kDouble);
  for (int64_t b = 0; b < h.size(0); ++b) {
    const auto mix = mix_of(moe.options, routing.clusters, routing.weights, b);
    for (int64_t t = 0; t < h.size(1); ++t) {
      const auto x = h[b][t];
      const auto p = reference_probabilities(moe, x, mix);
      const auto chosen = reference_top_k(p, moe.options.top_k);
      double total = 0;
      for (int64_t e : chosen) total += p[e];
      for (int64_t e : chosen) out[b][t] += p[e] / total * reference_expert(moe, e, x);
    }
  }
  return out;
}

Routing mixed_routing(int64_t batch) {
  Routing routing;
  routing.clusters = torch::arange(batch, torch::kLong).remainder(kClusters).flip(0);
  routing.weights = torch::softmax(torch::randn({batch, kClusters}) * 2, -1);
  return routing;
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tol) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const double diff =
      (actual.to(torch::kDouble) - expected.to(torch::kDouble)).abs().max().item<double>();
  EXPECT_LT(diff, tol);
}

class MoeRouting : public ::testing::TestWithParam<std::tuple<std::string, int64_t>> {};

TEST_P(MoeRouting, MatchesPerTokenReferenceWithMixedClusters) {
  const auto& [gating, top_k] = GetParam();
  auto moe = make_moe(options(top_k, gating));
  const auto hidden = torch::randn({5, 6, kHidden});
  const auto routing = mixed_routing(5);
  expect_close(moe->forward(hidden, routing), reference_forward(*moe, hidden, routing), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(MoeFeedForward, MoeRouting,
                         ::testing::Combine(::testing::Values("hard", "soft"),
                                            ::testing::Values(1, 2, kExperts)));

TEST(MoeFeedForward, GroupedEqualsEveryExpertOnEveryTokenWithMaskedWeights) {
  MoeFeedForwardOptions o = options(2, "hard");
  o.hidden = 32;
  o.n_experts = 8;
  auto moe = make_moe(o);
  const auto hidden = torch::randn({4, 16, 32});
  const auto routing = mixed_routing(4);
  const auto tokens = hidden.reshape({-1, 32});
  const auto routes = moe->route(hidden, routing);
  const auto dense_weights =
      torch::zeros({tokens.size(0), 8}).scatter(1, routes.experts, routes.weights);
  auto dense = torch::zeros_like(tokens);
  for (int64_t e = 0; e < 8; ++e)
    dense += moe->experts[e]->as<MlpImpl>()->forward(tokens, {}) *
             dense_weights.select(1, e).unsqueeze(1);
  expect_close(moe->forward(hidden, routing), dense.view(hidden.sizes()), 1e-5);
}

TEST(MoeFeedForward, SoftGatingWithOneHotGammaEqualsHardGating) {
  auto hard = make_moe(options(2, "hard"));
  auto soft = make_moe(options(2, "soft"));  // same seed: same weights
  const auto hidden = torch::randn({4, 7, kHidden});
  Routing routing = mixed_routing(4);
  routing.weights = torch::one_hot(routing.clusters, kClusters).to(torch::kFloat);
  expect_close(soft->forward(hidden, routing), hard->forward(hidden, routing), 1e-6);
}

bool has_gradient(const torch::Tensor& p) {
  return p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
}

TEST(MoeFeedForward, GradientsReachOnlyChosenExpertsAndUsedRouters) {
  auto moe = make_moe(options(2, "hard"));
  // Two records of one token in clusters 2 and 0: at most 4 of the 8 (token, expert) pairs are
  // chosen, and router 1 is unused.
  const auto hidden = torch::randn({2, 1, kHidden});
  Routing routing;
  routing.clusters = torch::tensor({2, 0}, torch::kLong);
  const auto routes = moe->route(hidden, routing);
  std::set<int64_t> chosen;
  for (int64_t i = 0; i < routes.experts.numel(); ++i)
    chosen.insert(routes.experts.reshape(-1)[i].item<int64_t>());
  moe->forward(hidden, routing).pow(2).sum().backward();
  for (int64_t e = 0; e < kExperts; ++e)
    for (const auto& p : moe->experts[e]->parameters())
      EXPECT_EQ(has_gradient(p), chosen.count(e) == 1) << "expert " << e;
  EXPECT_TRUE(has_gradient(moe->routers[0]->as<torch::nn::Linear>()->weight));
  EXPECT_FALSE(has_gradient(moe->routers[1]->as<torch::nn::Linear>()->weight));
  EXPECT_TRUE(has_gradient(moe->routers[2]->as<torch::nn::Linear>()->weight));
}

TEST(MoeFeedForward, NeverChosenExpertGetsNoGradient) {
  // With one token and top-2 of 4 experts, two experts are never chosen.
  auto moe = make_moe(options(2, "soft"));
  const auto hidden = torch::randn({1, 1, kHidden});
  const auto routing = mixed_routing(1);
  moe->forward(hidden, routing).sum().backward();
  int64_t without = 0;
  for (int64_t e = 0; e < kExperts; ++e)
    without += !moe->experts[e]->as<MlpImpl>()->down_proj->weight.grad().defined();
  EXPECT_EQ(without, kExperts - 2);
}

TEST(MoeFeedForward, SharedBaseAddsFrozenBaseOutput) {
  torch::manual_seed(3);
  auto base = std::make_shared<MlpImpl>(kHidden, 40);
  MoeFeedForwardOptions o = options(2, "soft");
  o.base_ffn = "shared";
  auto moe = make_moe(o, base);
  const auto hidden = torch::randn({3, 4, kHidden});
  const auto routing = mixed_routing(3);
  const auto out = moe->forward(hidden, routing);
  torch::Tensor base_out;
  {
    torch::NoGradGuard no_grad;
    base_out = base->forward(hidden, {});
  }
  expect_close(out, reference_forward(*moe, hidden, routing) + base_out, 1e-5);
  out.sum().backward();
  for (const auto& p : base->parameters()) {
    EXPECT_FALSE(p.requires_grad());
    EXPECT_FALSE(p.grad().defined());
  }
  EXPECT_EQ(moe->named_parameters().size(), 3 * kExperts + kClusters + 3);
  EXPECT_TRUE(moe->named_parameters().contains("base.down_proj.weight"));
}

TEST(MoeFeedForward, LoadBalancingLossMatchesHandComputation) {
  for (const std::string gating : {"hard", "soft"}) {
    MoeFeedForwardOptions o = options(2, gating);
    o.load_balancing = true;
    auto moe = make_moe(o);
    const auto hidden = torch::randn({4, 5, kHidden});
    const auto routing = mixed_routing(4);
    moe->forward(hidden, routing);
    std::vector<double> assignments(kExperts, 0.0), mean_probability(kExperts, 0.0);
    const int64_t n = 4 * 5;
    for (int64_t b = 0; b < 4; ++b) {
      const auto mix = mix_of(o, routing.clusters, routing.weights, b);
      for (int64_t t = 0; t < 5; ++t) {
        const auto p = reference_probabilities(*moe, hidden[b][t].to(torch::kDouble), mix);
        for (int64_t e : reference_top_k(p, 2)) assignments[e] += 1.0 / (n * 2);
        for (int64_t e = 0; e < kExperts; ++e) mean_probability[e] += p[e] / n;
      }
    }
    double expected = 0;
    for (int64_t e = 0; e < kExperts; ++e) expected += assignments[e] * mean_probability[e];
    expected *= kExperts;
    const auto& aux = moe->last_aux_loss();
    ASSERT_TRUE(aux.defined());
    EXPECT_NEAR(aux.item<double>(), expected, 1e-6) << gating;
    aux.backward();
    EXPECT_TRUE(has_gradient(moe->routers[0]->as<torch::nn::Linear>()->weight)) << gating;
  }
}

TEST(MoeFeedForward, LoadBalancingLossIsOffByDefault) {
  auto moe = make_moe(options(2, "hard"));
  moe->forward(torch::randn({2, 3, kHidden}), mixed_routing(2));
  EXPECT_FALSE(moe->last_aux_loss().defined());
}

TEST(MoeFeedForward, ParameterNamesSayWhatTheyAre) {
  auto moe = make_moe(options(2, "hard"));
  const auto named = moe->named_parameters();
  EXPECT_EQ(named.size(), 3 * kExperts + kClusters);
  EXPECT_EQ(named["experts.3.gate_proj.weight"].sizes(), (std::vector<int64_t>{kWidth, kHidden}));
  EXPECT_EQ(named["experts.0.up_proj.weight"].sizes(), (std::vector<int64_t>{kWidth, kHidden}));
  EXPECT_EQ(named["experts.1.down_proj.weight"].sizes(), (std::vector<int64_t>{kHidden, kWidth}));
  EXPECT_EQ(named["routers.2.weight"].sizes(), (std::vector<int64_t>{kExperts, kHidden}));
}

TEST(MoeFeedForward, SingleClusterNeedsNoRouting) {
  MoeFeedForwardOptions o = options(2, "hard");
  o.n_clusters = 1;
  auto moe = make_moe(o);
  const auto hidden = torch::randn({2, 3, kHidden});
  Routing zeros;
  zeros.clusters = torch::zeros({2}, torch::kLong);
  EXPECT_TRUE(moe->forward(hidden, {}).equal(moe->forward(hidden, zeros)));
}

TEST(MoeFeedForward, RejectsInconsistentOptionsAndMissingRouting) {
  auto bad = [](auto change) {
    MoeFeedForwardOptions o = options(2, "hard");
    change(o);
    return o;
  };
  EXPECT_THROW(MoeFeedForward(bad([](auto& o) { o.top_k = 0; })), Error);
  EXPECT_THROW(MoeFeedForward(bad([](auto& o) { o.top_k = kExperts + 1; })), Error);
  EXPECT_THROW(MoeFeedForward(bad([](auto& o) { o.gating = "mixed"; })), Error);
  EXPECT_THROW(MoeFeedForward(bad([](auto& o) { o.base_ffn = "shared"; })), Error);
  EXPECT_THROW(make_moe(options(2, "hard"))->forward(torch::randn({2, 3, kHidden}), {}), Error);
  EXPECT_THROW(make_moe(options(2, "soft"))->forward(torch::randn({2, 3, kHidden}), {}), Error);
}

}  // namespace
}  // namespace gavamoe
