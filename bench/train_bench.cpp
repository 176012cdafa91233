// train_bench: training tokens/s of the explainer (forward, backward, gradient clipping and an
// AdamW step) from scratch, for configs/model-tiny.json and configs/model-small.json.
//
// Usage: train_bench [cpu|cuda] [threads]
// A batch is 16 sequences of 48 tokens (about the synthetic data's prompt and explanation) with
// the loss on the last 10 positions; the explainer has the `train` defaults (4 experts of width
// 256, top-2, hard gating over 4 clusters) and random VAE tables of 500 users and items; float32
// and bf16 autocast. Prints bench_row.hpp rows; tokens/s counts every input token.
// Shapes: B batch, T time, E VAE embedding width.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench_device.hpp"
#include "bench_row.hpp"
#include "gavamoe/model/autocast.hpp"
#include "gavamoe/model/explainer.hpp"

namespace {

using namespace gavamoe;

constexpr int64_t kBatch = 16, kTime = 48, kTargets = 10, kClusters = 4, kIds = 500, kWidth = 64;

ExplainerBatch random_batch(int64_t vocab, torch::Device device) {
  ExplainerBatch batch;
  const auto on = torch::TensorOptions().dtype(torch::kLong).device(device);
  batch.ids = torch::randint(3, vocab, {kBatch, kTime}, on);
  batch.ids.select(1, 1).fill_(vocab);  // the two placeholders
  batch.ids.select(1, 2).fill_(vocab + 1);
  batch.valid = torch::ones({kBatch, kTime}, on.dtype(torch::kBool));
  batch.targets = torch::full({kBatch, kTime}, -100, on);
  batch.targets.slice(1, kTime - kTargets - 1, kTime - 1)
      .copy_(batch.ids.slice(1, kTime - kTargets, kTime));
  batch.users = torch::randint(kIds, {kBatch}, on);
  batch.items = torch::randint(kIds, {kBatch}, on);
  batch.routing.clusters = torch::randint(kClusters, {kBatch}, on);
  return batch;
}

// Training tokens/s over about two seconds of steps, after two warm-up steps.
double tokens_per_second(const std::string& config_path, torch::Device device, bool bf16) {
  const LlamaConfig config = LlamaConfig::load(config_path);
  Llama base(config);
  base->init_weights(1);
  base->to(device);
  ExplainerOptions options;
  options.n_clusters = kClusters;
  options.user_token = static_cast<int>(config.vocab_size);
  options.item_token = static_cast<int>(config.vocab_size + 1);
  Explainer model(base, options, torch::randn({kIds + 1, kWidth}) * 0.1,
                  torch::randn({kIds + 1, kWidth}) * 0.1);
  model->to(device);
  model->train();
  std::vector<torch::Tensor> params;
  for (auto& [name, p] : model->trainable_parameters()) params.push_back(p);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-3));
  const auto batch = random_batch(config.vocab_size, device);
  auto step = [&] {
    optimizer.zero_grad();
    ExplainerLoss loss;
    {
      Autocast autocast(bf16, device);
      loss = model->loss(batch);
    }
    (loss.sum / static_cast<double>(loss.tokens)).backward();
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    optimizer.step();
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  step();
  step();
  int64_t steps = 0;
  const auto start = std::chrono::steady_clock::now();
  double seconds = 0;
  while (seconds < 2.0) {
    step();
    ++steps;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return static_cast<double>(kBatch * kTime * steps) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const auto target = gavamoe::bench::bench_device(argc, argv, 1, "train_bench");
  const torch::Device device = target.device;
  const std::string& where = target.where;
  for (const char* model : {"tiny", "small"}) {
    const std::string path = std::string(GAVAMOE_SOURCE_DIR) + "/configs/model-" + model + ".json";
    for (bool bf16 : {false, true}) {
      const std::string what = std::string("explainer step, model-") + model + ", " +
                               (bf16 ? "bf16 autocast" : "float32") + ", batch 16x48, " + where;
      gavamoe::bench::print_row("train", what, tokens_per_second(path, device, bf16), "tokens/s");
    }
  }
  return 0;
}
