// Pretrained-model speed on the CPU: SmolLM2-135M-Instruct (load_pretrained("smollm2"), the
// Q4_1 GGUF dequantised to float32). Rows (bench_row.hpp, area "pretrained"):
//   - load time of the model and its tokenizer, and the peak RSS right after it (VmHWM of
//     /proc/self/status);
//   - prefill tokens/s: one plain forward of the prompt (logits of every position) at batch 1
//     and 16;
//   - decode tokens/s: KV-cached greedy generation of 32 new tokens at batch 1 and 16, timed as
//     generate(32 new) minus generate(1 new), i.e. the 31 one-token steps (forward + sampling)
//     after the prompt pass; counted as batch * 31 tokens.
// The prompt is a real English sentence encoded with the model's tokenizer (BOS first when the
// tokenizer adds one), repeated and cut to 32 ids; every row of a batch is that prompt. Each
// time is the best of `repeats` runs (default 4), the first of which is a warm-up never counted.
// bench/hf_generate_peer.py measures the same on HF transformers; bench/run.sh prints the ratios.
// A missing model prints a skip line on stderr and no rows (exit 0).
//
// Usage: pretrained_bench [threads] [repeats]
//        pretrained_bench --print-prompt   (the GGUF path, then the prompt ids, one line each)
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench_row.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/pretrained.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kPrompt = 32, kNew = 32;
constexpr const char* kSentence =
    "The hotel was clean and close to the station, the staff were friendly and helpful, but the "
    "breakfast was expensive and our room was rather small for two people. ";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The best time of `repeats` runs of `work` after one warm-up run.
double best_seconds(int repeats, const std::function<void()>& work) {
  work();
  double best = 1e30;
  for (int run = 1; run < repeats; ++run) {
    const auto start = Clock::now();
    work();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

// VmHWM (peak resident set) of this process in MiB, or -1 when /proc is not readable.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;  // kB
  return -1;
}

std::vector<int> prompt_ids(const gavamoe::Tokenizer& tokenizer) {
  std::vector<int> ids;
  if (tokenizer.adds_bos() && tokenizer.bos_id() >= 0) ids.push_back(tokenizer.bos_id());
  const std::vector<int> sentence = tokenizer.encode(kSentence);
  while (static_cast<int64_t>(ids.size()) < kPrompt)
    ids.insert(ids.end(), sentence.begin(), sentence.end());
  ids.resize(kPrompt);
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gavamoe;
  const bool print_prompt = argc > 1 && std::string(argv[1]) == "--print-prompt";
  const int threads = argc > 1 && !print_prompt ? std::atoi(argv[1]) : 0;
  const int repeats = argc > 2 ? std::max(2, std::atoi(argv[2])) : 4;
  if (threads > 0) torch::set_num_threads(threads);
  std::string path;
  try {
    path = resolve_pretrained("smollm2");
  } catch (const Error& error) {
    std::fprintf(stderr, "pretrained_bench: skipped, %s\n", error.what());
    return 0;
  }
  if (print_prompt) {
    const std::vector<int> ids = prompt_ids(*load_pretrained_tokenizer("smollm2"));
    std::printf("%s\n", path.c_str());
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    std::printf("\n");
    return 0;
  }

  const auto load_start = Clock::now();
  PretrainedModel pretrained = load_pretrained("smollm2", torch::kFloat32, torch::kCPU);
  const double load_seconds = seconds_since(load_start);
  const double rss = peak_rss_mib();
  const std::string name = "smollm2-135m f32";
  bench::print_row("pretrained", name + ", load from GGUF (model + tokenizer)", load_seconds, "s");
  if (rss > 0) bench::print_row("pretrained", name + ", peak RSS after load", rss, "MiB");

  Llama& model = pretrained.model;
  const std::vector<int> prompt = prompt_ids(*pretrained.tokenizer);
  for (int64_t batch : {1, 16}) {
    const std::string what = name + ", batch " + std::to_string(batch);
    const torch::Tensor ids =
        torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kInt64)
            .unsqueeze(0)
            .expand({batch, kPrompt})
            .contiguous();
    const double prefill = best_seconds(repeats, [&] {
      c10::InferenceMode inference;
      model->forward(ids);
    });
    bench::print_row("pretrained", what + ", prefill " + std::to_string(kPrompt) + " tokens",
                     static_cast<double>(batch * kPrompt) / prefill, "tokens/s");

    const std::vector<std::vector<int>> prompts(batch, prompt);
    auto generate_seconds = [&](int64_t new_tokens) {
      GenerationOptions options;  // greedy, KV cache, no stop tokens
      options.max_new_tokens = new_tokens;
      return best_seconds(repeats, [&] {
        const GenerationResult result = generate(model, prompts, options);
        if (static_cast<int64_t>(result.tokens.front().size()) != new_tokens)
          throw Error("pretrained_bench: generation stopped early");
      });
    };
    const double one = generate_seconds(1), all = generate_seconds(kNew);
    bench::print_row(
        "pretrained", what + ", decode " + std::to_string(kNew) + " new tokens, KV cache",
        static_cast<double>(batch * (kNew - 1)) / std::max(all - one, 1e-9), "tokens/s");
  }
  return 0;
}
