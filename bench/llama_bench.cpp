// Llama decoding speed: prefill and decode tokens/s for configs/model-tiny.json and
// configs/model-small.json (random weights) at batch 1 and 16, with and without the KV cache.
// Decode = 30 new greedy tokens after a 32-token prompt, the prompt pass not counted. Prints "|
// config | batch | cache | prefill tok/s | decode tok/s |" rows. Usage: llama_bench [threads]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

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
  std::printf("| config | batch | cache | prefill tok/s | decode tok/s |\n|---|---|---|---|---|\n");
  for (const char* name : {"tiny", "small"}) {
    const std::string path = std::string(GAVAMOE_SOURCE_DIR) + "/configs/model-" + name + ".json";
    Llama model(LlamaConfig::load(path));
    model->init_weights(1);
    model->eval();
    for (int64_t batch : {1, 16}) {
      const torch::Tensor ids = torch::randint(3, model->config.vocab_size, {batch, kPrompt});
      const torch::Tensor positions = torch::arange(kPrompt).expand({batch, kPrompt});
      auto start = Clock::now();
      model->head(model->hidden(model->embed(ids), positions));
      const double prefill_seconds = seconds_since(start);
      const double prefill = static_cast<double>(batch * kPrompt) / prefill_seconds;
      std::vector<std::vector<int>> prompts(batch);
      for (int64_t row = 0; row < batch; ++row)
        for (int64_t t = 0; t < kPrompt; ++t) prompts[row].push_back(ids[row][t].item<int>());
      for (bool cache : {true, false}) {
        GenerationOptions options;
        options.max_new_tokens = kNew;
        options.use_cache = cache;
        start = Clock::now();
        generate(model, prompts, options);
        // The prompt pass is timed above; decode is the rest.
        const double decode = static_cast<double>(batch * kNew) /
                              std::max(seconds_since(start) - prefill_seconds, 1e-9);
        std::printf("| %s | %lld | %s | %.0f | %.0f |\n", name, static_cast<long long>(batch),
                    cache ? "yes" : "no", prefill, decode);
      }
    }
  }
  return 0;
}
