// moe_bench: tokens/s of the mixture-of-experts feed-forward block with grouped expert compute
// (each expert runs on its own tokens only) against dense compute (every expert on every token,
// weights masked to the top-k), forward and forward+backward.
//
// Usage: moe_bench [cpu|cuda] [threads]
// Sizes are those of a tiny model: hidden 256, 4 and 8 experts of width 256, top-2, hard gating
// over 4 clusters, a batch of 16 sequences of 64 tokens. Prints bench_row.hpp rows.
// Shapes: B batch, T time, C hidden, N = B*T tokens, E experts.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench_device.hpp"
#include "bench_row.hpp"
#include "gavamoe/model/moe_feed_forward.hpp"

namespace {

using namespace gavamoe;

// Every expert on every token, each output weighted by its (zero unless chosen) routing weight.
torch::Tensor dense_forward(MoeFeedForwardImpl& moe, const torch::Tensor& hidden,
                            const Routing& routing) {
  const auto routes = moe.route(hidden, routing);
  const auto tokens = hidden.reshape({-1, hidden.size(-1)});
  const auto weights =
      torch::zeros({tokens.size(0), moe.options.n_experts}, routes.weights.options())
          .scatter(1, routes.experts, routes.weights);
  auto out = torch::zeros_like(tokens);
  for (int64_t e = 0; e < moe.options.n_experts; ++e)
    out = out +
          moe.experts[e]->as<MlpImpl>()->forward(tokens, {}) * weights.select(1, e).unsqueeze(1);
  return out.view(hidden.sizes());
}

// Tokens/s of `step` over enough repetitions to take about a second, after two warm-up runs.
template <typename Step>
double tokens_per_second(int64_t tokens, torch::Device device, Step step) {
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  step();
  step();
  sync();
  int64_t runs = 0;
  const auto start = std::chrono::steady_clock::now();
  double seconds = 0;
  while (seconds < 1.0) {
    step();
    sync();
    ++runs;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return tokens * runs / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const auto target = bench::bench_device(argc, argv, 1, "moe_bench");
  const torch::Device device = target.device;
  const std::string& where = target.where;
  const int64_t batch = 16, time = 64, hidden_size = 256, clusters = 4;

  for (int64_t n_experts : {4, 8}) {
    MoeFeedForwardOptions options;
    options.hidden = hidden_size;
    options.n_experts = n_experts;
    options.expert_width = 256;
    options.n_clusters = clusters;
    options.top_k = 2;
    MoeFeedForward moe(options);
    moe->to(device);
    const auto hidden = torch::randn({batch, time, hidden_size}, device).requires_grad_(true);
    Routing routing;
    routing.clusters = torch::randint(clusters, {batch}, torch::dtype(torch::kLong).device(device));

    for (bool backward : {false, true}) {
      auto run = [&](auto forward) {
        return tokens_per_second(batch * time, device, [&] {
          if (!backward) {
            torch::NoGradGuard no_grad;
            forward();
            return;
          }
          moe->zero_grad();
          forward().sum().backward();
        });
      };
      const double grouped = run([&] { return moe->forward(hidden, routing); });
      const double dense = run([&] { return dense_forward(*moe, hidden, routing); });
      const std::string what = std::string(backward ? "forward+backward" : "forward") +
                               ", E=" + std::to_string(n_experts) + " width 256 top-2, " +
                               std::to_string(batch * time) + " tokens, " + where;
      bench::print_row("moe", what + ", grouped", grouped, "tokens/s");
      bench::print_row("moe", what + ", dense", dense, "tokens/s");
      bench::print_row("moe", what + ", grouped / dense", grouped / dense, "x");
    }
  }
  return 0;
}
