// gpu_bench: the GPU rows of the benchmark table, on a 1.1B Llama of TinyLlama's shape (hidden
// 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocabulary 32000; random weights).
//   - memory bandwidth: a 1 GiB device-to-device copy (read + write), and the bf16 matmul peak
//     (8192^3), both measured here;
//   - decode: bf16, greedy, KV cache, 128 new tokens after a 32-token prompt (the prompt pass not
//     counted), batch 1 and 16, beside the bandwidth floor at batch 1 (every weight but the input
//     embedding read once per token);
//   - training: the Llama from scratch, float32 weights, bf16 autocast, AdamW, batch 8 x 512, loss
//     on every position; tokens/s and MFU = (6 N + 12 L T d_attn) tokens/s over the peak (PaLM's
//     count: N the matmul weights, L layers, T sequence length, d_attn heads x head size).
// Usage: gpu_bench [PEAK_TFLOPS]   (the data-sheet bf16 dense peak; default: the measured matmul
// peak). Exits with code 2 without a CUDA device. Prints bench_row.hpp rows.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_row.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/autocast.hpp"
#include "gavamoe/model/llama.hpp"

namespace {

using namespace gavamoe;
using Clock = std::chrono::steady_clock;

// Seconds of `work` after a CUDA synchronisation.
template <typename Work>
double timed(Work&& work) {
  torch::cuda::synchronize();
  const auto start = Clock::now();
  work();
  torch::cuda::synchronize();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

LlamaConfig tinyllama_shape() {
  LlamaConfig c;
  c.vocab_size = 32000;
  c.hidden_size = 2048;
  c.intermediate_size = 5632;
  c.num_hidden_layers = 22;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 4;
  c.head_dim = 64;
  c.max_position_embeddings = 2048;
  c.rms_norm_eps = 1e-5;
  c.eos_token_ids = {2};
  return c;
}

// Weights that take part in a matmul per token: attention, MLP and the output head.
double matmul_parameters(const LlamaConfig& c) {
  const double d = c.hidden_size, attention = c.num_attention_heads * c.head_dim,
               kv = c.num_key_value_heads * c.head_dim;
  return c.num_hidden_layers * (2 * d * attention + 2 * d * kv + 3 * d * c.intermediate_size) +
         static_cast<double>(c.vocab_size) * d;
}

double copy_bandwidth_bytes_per_s() {
  const auto source =
      torch::empty({int64_t{1} << 29}, torch::dtype(torch::kBFloat16).device(torch::kCUDA));
  auto target = torch::empty_like(source);
  target.copy_(source);
  constexpr int kRepeats = 20;
  const double seconds = timed([&] {
    for (int i = 0; i < kRepeats; ++i) target.copy_(source);
  });
  return 2.0 * static_cast<double>(source.nbytes()) * kRepeats / seconds;
}

double matmul_flops_per_s() {
  constexpr int64_t n = 8192;
  const auto options = torch::dtype(torch::kBFloat16).device(torch::kCUDA);
  const auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  torch::matmul(a, b);
  constexpr int kRepeats = 20;
  const double seconds = timed([&] {
    for (int i = 0; i < kRepeats; ++i) torch::matmul(a, b);
  });
  return 2.0 * n * n * n * kRepeats / seconds;
}

// Decode tokens/s: generate's time minus the prompt pass's (best of 3).
double decode_tokens_per_s(Llama& model, int64_t batch) {
  constexpr int64_t kPrompt = 32, kNew = 128;
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(3, model->config.vocab_size, {batch, kPrompt},
                                  torch::dtype(torch::kInt64).device(torch::kCUDA));
  const auto positions = torch::arange(kPrompt, ids.options()).expand({batch, kPrompt});
  double prefill = 1e30;
  for (int run = 0; run < 3; ++run)
    prefill =
        std::min(prefill, timed([&] { model->head(model->hidden(model->embed(ids), positions)); }));
  const auto host = ids.cpu();
  std::vector<std::vector<int>> prompts(batch);
  for (int64_t row = 0; row < batch; ++row)
    for (int64_t t = 0; t < kPrompt; ++t) prompts[row].push_back(host[row][t].item<int>());
  GenerationOptions options;
  options.max_new_tokens = kNew;
  options.banned_tokens = model->config.eos_token_ids;  // every row runs all 128 steps
  generate(model, prompts, options);                    // warm-up
  const double seconds = timed([&] { generate(model, prompts, options); });
  return static_cast<double>(batch * kNew) / std::max(seconds - prefill, 1e-9);
}

double training_tokens_per_s(const LlamaConfig& config) {
  constexpr int64_t kBatch = 8, kTime = 512;
  Llama model(config);
  model->init_weights(2);
  model->to(torch::kCUDA);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-4));
  const auto ids = torch::randint(3, config.vocab_size, {kBatch, kTime + 1},
                                  torch::dtype(torch::kInt64).device(torch::kCUDA));
  const auto inputs = ids.slice(1, 0, kTime), targets = ids.slice(1, 1, kTime + 1);
  auto step = [&] {
    optimizer.zero_grad();
    torch::Tensor loss;
    {
      Autocast autocast(true, torch::kCUDA);
      const auto logits = model->forward(inputs);
      loss = torch::cross_entropy_loss(logits.reshape({-1, config.vocab_size}).to(torch::kFloat32),
                                       targets.reshape({-1}));
    }
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    optimizer.step();
  };
  step();
  step();
  constexpr int kSteps = 10;
  const double seconds = timed([&] {
    for (int i = 0; i < kSteps; ++i) step();
  });
  return static_cast<double>(kBatch * kTime * kSteps) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "gpu_bench: no CUDA device\n");
    return 2;
  }
  torch::manual_seed(1);
  const double bandwidth = copy_bandwidth_bytes_per_s();
  const double measured_peak = matmul_flops_per_s();
  const double peak = argc > 1 ? std::atof(argv[1]) * 1e12 : measured_peak;
  const std::string peak_name = argc > 1 ? "data-sheet peak" : "measured matmul peak";
  bench::print_row("gpu", "device-to-device copy, 1 GiB", bandwidth / 1e9, "GB/s");
  bench::print_row("gpu", "bf16 matmul 8192^3", measured_peak / 1e12, "TFLOP/s");

  const LlamaConfig config = tinyllama_shape();
  {
    Llama model(config);
    model->init_weights(1);
    model->to(torch::kCUDA, torch::kBFloat16);
    model->eval();
    // Bytes read per token at batch 1: every weight but the input embedding (one row of it).
    double bytes = 0;
    for (const auto& parameter : model->parameters())
      bytes += static_cast<double>(parameter.nbytes());
    bytes -= static_cast<double>(model->embed_tokens->weight.nbytes());
    const double floor = bandwidth / bytes;
    for (int64_t batch : {1, 16}) {
      const double rate = decode_tokens_per_s(model, batch);
      const std::string what = "decode, 1.1B Llama bf16, batch " + std::to_string(batch);
      bench::print_row("gpu", what, rate, "tokens/s");
      if (batch == 1)
        bench::print_row("gpu",
                         what + ", share of the bandwidth floor (" +
                             std::to_string(static_cast<int>(floor)) + " tokens/s)",
                         100.0 * rate / floor, "%");
    }
  }
  const double rate = training_tokens_per_s(config);
  const double flops_per_token =
      6.0 * matmul_parameters(config) + 12.0 * static_cast<double>(config.num_hidden_layers) *
                                            512.0 * config.num_attention_heads * config.head_dim;
  bench::print_row("gpu", "training, 1.1B Llama, bf16 autocast, AdamW, batch 8x512", rate,
                   "tokens/s");
  bench::print_row("gpu", "training MFU against the " + peak_name,
                   100.0 * rate * flops_per_token / peak, "%");
  return 0;
}
