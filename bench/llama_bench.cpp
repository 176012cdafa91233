// Llama decoding speed: prefill and decode tokens/s for configs/model-tiny.json and
// configs/model-small.json (random weights) at batch 1 and 16, with and without the KV cache.
// Decode = 30 new greedy tokens after a 32-token prompt, the prompt pass not counted. Prints
// bench_row.hpp rows. Usage: llama_bench [threads]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "bench_row.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/llama.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gavamoe;
  if (argc > 1) torch::set_num_threads(std::atoi(argv[1]));
  torch::NoGradGuard no_grad;
  constexpr int64_t kPrompt = 32, kNew = 30;
  for (const char* name : {"tiny", "small"}) {
    const std::string path = std::string(GAVAMOE_SOURCE_DIR) + "/configs/model-" + name + ".json";
    Llama model(LlamaConfig::load(path));
    model->init_weights(1);
    model->eval();
    for (int64_t batch : {1, 16}) {
      const torch::Tensor ids = torch::randint(3, model->config.vocab_size, {batch, kPrompt});
      const torch::Tensor positions = torch::arange(kPrompt).expand({batch, kPrompt});
      // Best of 3 prompt passes (the first also warms the allocator up).
      double prefill_seconds = 1e30;
      for (int run = 0; run < 3; ++run) {
        const auto start = Clock::now();
        model->head(model->hidden(model->embed(ids), positions));
        prefill_seconds = std::min(prefill_seconds, seconds_since(start));
      }
      const std::string what = std::string(name) + ", batch " + std::to_string(batch);
      bench::print_row("llama", what + ", prefill " + std::to_string(kPrompt) + " tokens",
                       static_cast<double>(batch * kPrompt) / prefill_seconds, "tokens/s");
      std::vector<std::vector<int>> prompts(batch);
      for (int64_t row = 0; row < batch; ++row)
        for (int64_t t = 0; t < kPrompt; ++t) prompts[row].push_back(ids[row][t].item<int>());
      for (bool cache : {true, false}) {
        GenerationOptions options;
        options.max_new_tokens = kNew;
        options.use_cache = cache;
        const auto start = Clock::now();
        generate(model, prompts, options);
        // The prompt pass is timed above; decode is the rest.
        const double decode = static_cast<double>(batch * kNew) /
                              std::max(seconds_since(start) - prefill_seconds, 1e-9);
        bench::print_row("llama",
                         what + ", decode " + std::to_string(kNew) + " tokens, " +
                             (cache ? "KV cache" : "no cache"),
                         decode, "tokens/s");
      }
    }
  }
  return 0;
}
