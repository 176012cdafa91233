// explainer_train_bench: the explainer's training step on the pretrained SmolLM2-135M-Instruct
// base (load_pretrained("smollm2"), float32, CPU), on a batch of real Amazon prompts; the peer
// bench/explainer_train_peer.py runs the same step in PyTorch eager (HF transformers).
//
// The batch: the first `batch` records of the Amazon Musical Instruments 5-core import
// ($GAVAMOE_DATASETS/amazon_musical_instruments_5core, in review order) that have an
// explanation, encoded as `gavamoe train` encodes them (the paper's prompt as the ChatML user
// turn with the assistant's turn opened, the explanation and EOS; train.max_length 180), right-
// padded with EOS; the loss covers the explanation and EOS. Users, items and clusters are the
// row number (cluster: row mod 4) into random VAE tables (E 64) of `batch` + 1 rows. The
// explainer is the configs/amazon-mi-smollm2*.json model: LoRA r 8 / alpha 16 / dropout 0.1 on
// q/k/v/o of the frozen base, `experts` SwiGLU experts of width `width` per layer (top-2, hard
// gating over 4 clusters), base_ffn shared or replace.
// A step: zero_grad, the summed loss over the step's target tokens, backward, clipping to
// global norm 1, AdamW (lr 1e-4, weight decay 0.01 on matrices, 0 on vectors). One warm-up
// step, then `steps` timed steps; the time per step is their median (a shared machine's load
// comes in bursts), tokens/s counts every input token (batch x padded length) over that time.
// The layers run on the real tokens only (Explainer::loss, Llama::packed_hidden), the prompt
// prefix that records of one cluster share (the chat template's system turn and the prompt's
// opening words, 28 tokens) once per cluster; with `--layout padded` on all batch x length
// slots instead, as the peer does (the same loss).
//
// Usage: explainer_train_bench [--threads N] [--steps S] [--batch B] [--experts E]
//                              [--width W] [--base-ffn shared|replace] [--layout packed|padded]
//                              [--write-batch FILE]
//   --write-batch FILE  writes the batch (ids, valid, targets, users, items, clusters,
//                       user_table, item_table) as safetensors for the peer, prints the GGUF
//                       path and exits without training.
// Prints bench_row.hpp rows (area "train"): tokens/s, s/step and the peak RSS (VmHWM). A missing
// model or dataset prints a skip line on stderr and no rows (exit 0).
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench_row.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/data/amazon_import.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/safetensors.hpp"

namespace {

using namespace gavamoe;
using Clock = std::chrono::steady_clock;

constexpr int64_t kClusters = 4, kVaeWidth = 64;

struct Args {
  int threads = 2;
  int steps = 3;
  int64_t batch = 16;
  int64_t experts = 4;
  int64_t width = 256;
  std::string base_ffn = "shared";
  std::string layout = "packed";
  std::string write_batch;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--threads")
      a.threads = std::atoi(value.c_str());
    else if (key == "--steps")
      a.steps = std::atoi(value.c_str());
    else if (key == "--batch")
      a.batch = std::atoll(value.c_str());
    else if (key == "--experts")
      a.experts = std::atoll(value.c_str());
    else if (key == "--width")
      a.width = std::atoll(value.c_str());
    else if (key == "--base-ffn")
      a.base_ffn = value;
    else if (key == "--layout" && (value == "packed" || value == "padded"))
      a.layout = value;
    else if (key == "--write-batch")
      a.write_batch = value;
    else {
      std::fprintf(stderr, "explainer_train_bench: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  return a;
}

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;  // kB
  return -1;
}

// Fresh pages the kernel had to map (and zero) for this process so far.
long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// The batch of the header, with the VAE tables it indexes.
struct Batch {
  ExplainerBatch batch;
  torch::Tensor user_table, item_table;
};

Batch real_batch(const Tokenizer& tokenizer, const std::string& reviews, int64_t rows) {
  const AmazonImport imported = import_amazon_reviews(reviews, AmazonImportOptions{});
  PromptOptions prompt;
  prompt.template_name = "chatml";
  prompt.max_length = 180;
  prompt.bos_id = tokenizer.bos_id();
  prompt.eos_id = tokenizer.eos_id();
  prompt.add_bos = tokenizer.adds_bos() && prompt.bos_id >= 0;
  std::vector<EncodedExample> examples;
  for (const Record& record : imported.records) {
    if (static_cast<int64_t>(examples.size()) == rows) break;
    if (record.explanation.empty()) continue;
    if (auto e = encode_example(tokenizer, record, prompt)) examples.push_back(*e);
  }
  if (static_cast<int64_t>(examples.size()) < rows) throw Error(reviews + ": too few records");
  int64_t t = 0;
  for (const auto& e : examples) t = std::max<int64_t>(t, e.ids.size());
  Batch out;
  ExplainerBatch& b = out.batch;
  b.ids = torch::full({rows, t}, prompt.eos_id, torch::kLong);
  b.valid = torch::zeros({rows, t}, torch::kBool);
  b.targets = torch::full({rows, t}, -100, torch::kLong);
  for (int64_t r = 0; r < rows; ++r) {
    const auto& e = examples[r];
    const auto length = static_cast<int64_t>(e.ids.size());
    for (int64_t j = 0; j < length; ++j) {
      b.ids[r][j] = e.ids[j];
      b.valid[r][j] = true;
    }
    for (int64_t j = e.prompt_length - 1; j + 1 < length; ++j) b.targets[r][j] = e.ids[j + 1];
  }
  b.users = torch::arange(rows, torch::kLong);
  b.items = torch::arange(rows, torch::kLong);
  b.routing.clusters = torch::arange(rows, torch::kLong).remainder(kClusters);
  torch::manual_seed(1);
  out.user_table = torch::randn({rows + 1, kVaeWidth}) * 0.1;
  out.item_table = torch::randn({rows + 1, kVaeWidth}) * 0.1;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  torch::set_num_threads(args.threads);
  const char* datasets = std::getenv("GAVAMOE_DATASETS");
  if (!datasets) {
    std::fprintf(stderr, "explainer_train_bench: skipped, GAVAMOE_DATASETS is not set\n");
    return 0;
  }
  const std::string reviews =
      std::string(datasets) +
      "/amazon_musical_instruments_5core/reviews_Musical_Instruments_5.json.gz";
  std::string path;
  try {
    path = resolve_pretrained("smollm2");
  } catch (const Error& error) {
    std::fprintf(stderr, "explainer_train_bench: skipped, %s\n", error.what());
    return 0;
  }
  const auto tokenizer = load_pretrained_tokenizer(path);
  const PlaceholderIds placeholders = placeholder_ids(*tokenizer);
  Batch data = real_batch(*tokenizer, reviews, args.batch);
  ExplainerBatch& batch = data.batch;
  const int64_t tokens = batch.ids.numel();
  if (!args.write_batch.empty()) {
    write_safetensors(args.write_batch,
                      {{"ids", batch.ids},
                       {"valid", batch.valid.to(torch::kLong)},
                       {"targets", batch.targets},
                       {"users", batch.users},
                       {"items", batch.items},
                       {"clusters", batch.routing.clusters},
                       {"user_table", data.user_table},
                       {"item_table", data.item_table},
                       {"placeholders", torch::tensor({static_cast<int64_t>(placeholders.user),
                                                       static_cast<int64_t>(placeholders.item)})}},
                      {{"format", "pt"}});
    std::printf("%s\n", path.c_str());
    return 0;
  }

  ExplainerOptions options;
  options.n_experts = args.experts;
  options.expert_width = args.width;
  options.top_k = 2;
  options.n_clusters = kClusters;
  options.base_ffn = args.base_ffn;
  options.pretrained_base = true;
  options.lora = LoraOptions{8, 16.0, 0.1};
  options.user_token = placeholders.user;
  options.item_token = placeholders.item;
  Explainer model(load_pretrained_llama(path, torch::kFloat32), options, data.user_table,
                  data.item_table);
  model->train();
  std::vector<torch::Tensor> decayed, plain, all;
  for (auto& [name, p] : model->trainable_parameters()) {
    (p.dim() >= 2 ? decayed : plain).push_back(p);
    all.push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(1e-4).weight_decay(0.01)));
  groups.emplace_back(plain, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(1e-4).weight_decay(0.0)));
  torch::optim::AdamW optimizer(std::move(groups));
  // The padded layout: every slot through the layers, the head on the target slots.
  const torch::Tensor scored = batch.targets != -100;
  const int64_t target_tokens = scored.sum().item<int64_t>();
  auto padded_loss = [&] {
    Llama& llama = model->llama;
    const torch::Tensor positions =
        torch::arange(batch.ids.size(1)).unsqueeze(0).expand_as(batch.ids);
    const torch::Tensor hidden =
        llama->hidden(llama->embed(batch.ids, model->placeholders(batch.users, batch.items)),
                      positions, {}, nullptr, batch.routing);
    return torch::nn::functional::cross_entropy(
        llama->head(hidden.index({scored})), batch.targets.index({scored}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  };
  double last_loss = 0;
  auto step = [&] {
    optimizer.zero_grad();
    const torch::Tensor sum = args.layout == "padded" ? padded_loss() : model->loss(batch).sum;
    const torch::Tensor mean = sum / static_cast<double>(target_tokens);
    mean.backward();
    torch::nn::utils::clip_grad_norm_(all, 1.0);
    optimizer.step();
    last_loss = mean.item<double>();
  };
  step();
  const long faults_before = minor_page_faults();
  std::vector<double> step_seconds;
  for (int s = 0; s < args.steps; ++s) {
    const auto start = Clock::now();
    step();
    step_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const long faults = (minor_page_faults() - faults_before) / std::max(args.steps, 1);
  std::sort(step_seconds.begin(), step_seconds.end());
  const size_t middle = step_seconds.size() / 2;
  const double seconds = step_seconds.size() % 2
                             ? step_seconds[middle]
                             : (step_seconds[middle - 1] + step_seconds[middle]) / 2;
  const std::string what =
      "explainer step, smollm2-135m f32 + LoRA r8 + " + std::to_string(args.experts) + "x" +
      std::to_string(args.width) + " experts (" + args.base_ffn + "), batch " +
      std::to_string(args.batch) + "x" + std::to_string(batch.ids.size(1)) + " Amazon, cpu, " +
      std::to_string(args.threads) + " threads" + (args.layout == "padded" ? ", padded rows" : "");
  const int64_t computed =
      args.layout == "padded"
          ? tokens
          : pack_tokens(
                batch.valid, model->loss_routing(batch),
                input_keys(batch.ids, {model->options.user_token, model->options.item_token}))
                .tokens.size(0);
  std::fprintf(stderr,
               "explainer_train_bench: %lld trainable of %lld parameters, %lld real of %lld input "
               "tokens, %lld computed, %lld target tokens, %ld minor page faults a step, last "
               "loss %.4f\n",
               static_cast<long long>(model->trainable_count()),
               static_cast<long long>(model->parameter_count()),
               static_cast<long long>(batch.valid.sum().item<int64_t>()),
               static_cast<long long>(tokens), static_cast<long long>(computed),
               static_cast<long long>(target_tokens), faults, last_loss);
  bench::print_row("train", what, static_cast<double>(tokens) / seconds, "tokens/s");
  bench::print_row("train", what + ", time per step", seconds, "s");
  bench::print_row("train", what + ", peak RSS", peak_rss_mib(), "MiB");
  return 0;
}
