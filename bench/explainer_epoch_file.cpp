// explainer_epoch_file: writes the first training epoch of a `gavamoe train` run on a pretrained
// base, batch by batch as the run trained it, for bench/explainer_train_peer.py --epoch-file.
//
// The examples are rebuilt as the trainer builds them: the run's data (config.json's data.path,
// split and shuffle seed), its tokenizer and prompt layout (template, max_length), its VAE
// (clusters, table rows); their order is the run's first epoch (epoch_order with the run's seed),
// cut into micro-batches of train.batch_size.
//
// Usage: explainer_epoch_file --run RUN --out FILE [--steps N]
//   RUN    a train run folder (explainer.json, config.json, tokenizer files, a VAE run)
//   --steps N  only the first N micro-batches (default: the whole epoch)
// FILE (safetensors), with E the examples in epoch order and L their summed lengths:
//   ids [L] (the examples' tokens, concatenated), lengths [E], prompt_lengths [E], users [E],
//   items [E], clusters [E] (VAE rows and cluster), user_table [U + 1, V], item_table [I + 1, V]
//   (the VAE's embeddings, as the explainer's projections read them), placeholders [2] (the
//   <user> and <item> ids); metadata: batch_size, pad_id and the explainer's options (n_experts,
//   expert_width, top_k, n_clusters, base_ffn, gating, lora_r, lora_alpha, lora_dropout).
// Prints the base's GGUF or HF path. Bad input: one error line, exit 1.
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gavamoe/core/config.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/text/tokenizer.hpp"
#include "gavamoe/train/explainer_trainer.hpp"
#include "gavamoe/train/explanation_batches.hpp"
#include "gavamoe/train/training_loop.hpp"

namespace {

using namespace gavamoe;
namespace fs = std::filesystem;

struct Args {
  std::string run, out;
  int64_t steps = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--run")
      a.run = value;
    else if (key == "--out")
      a.out = value;
    else if (key == "--steps")
      a.steps = std::atoll(value.c_str());
    else
      throw Error("unknown option " + key);
  }
  if (a.run.empty() || a.out.empty()) throw Error("usage: --run RUN --out FILE [--steps N]");
  return a;
}

torch::Tensor longs(const std::vector<int64_t>& values) {
  return torch::tensor(values, torch::kLong);
}

void write_epoch(const Args& args) {
  RunConfig config;
  config.merge_file(args.run + "/config.json");
  const ExplainerRunInfo info = read_explainer_run_info(args.run);
  if (info.base_model.empty()) throw file_error(args.run, "not a run on a pretrained base");
  // A finished run states its seed in metrics.json, one under way in its checkpoint.
  const std::string metrics = args.run + "/metrics.json";
  const uint64_t seed = checkpoint_seed(
      args.run, fs::exists(metrics) ? read_json_file(metrics).value("seed", uint64_t{1}) : 1);
  const ExplainerTrainOptions train = ExplainerTrainOptions::from_config(config, seed);
  LoadOptions load;
  load.split = config.get<int>("data.split");
  load.shuffle_seed = config.get<uint64_t>("data.shuffle_seed");
  const Dataset data = load_dataset(config.get<std::string>("data.path"), load);
  const auto tokenizer = load_tokenizer(args.run);
  const PromptOptions prompt =
      explainer_prompt_options(info, *tokenizer, train.template_name, train.max_length);
  TrainedVae vae = load_trained_vae(info.vae_run);
  const ExampleSet set =
      encode_examples(data, data.subset(Subset::train), *tokenizer, prompt, vae, train.unknown_ids);

  std::vector<int64_t> order = epoch_order(set.examples.size(), seed, 0);
  if (args.steps > 0) order.resize(std::min<size_t>(order.size(), args.steps * train.batch_size));
  std::vector<int64_t> ids, lengths, prompt_lengths, users, items, clusters;
  for (int64_t position : order) {
    const ExplanationExample& e = set.examples[position];
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    lengths.push_back(e.ids.size());
    prompt_lengths.push_back(e.prompt_length);
    users.push_back(e.user);
    items.push_back(e.item);
    clusters.push_back(e.cluster);
  }
  const ExplainerOptions& o = info.options;
  const int64_t pad_id = tokenizer->pad_id() >= 0 ? tokenizer->pad_id() : tokenizer->eos_id();
  write_safetensors(args.out,
                    {{"ids", longs(ids)},
                     {"lengths", longs(lengths)},
                     {"prompt_lengths", longs(prompt_lengths)},
                     {"users", longs(users)},
                     {"items", longs(items)},
                     {"clusters", longs(clusters)},
                     {"user_table", vae.model->user_embedding->weight.detach()},
                     {"item_table", vae.model->item_embedding->weight.detach()},
                     {"placeholders", longs({static_cast<int64_t>(o.user_token),
                                             static_cast<int64_t>(o.item_token)})}},
                    {{"format", "pt"},
                     {"batch_size", std::to_string(train.batch_size)},
                     {"pad_id", std::to_string(pad_id)},
                     {"n_experts", std::to_string(o.n_experts)},
                     {"expert_width", std::to_string(o.expert_width)},
                     {"top_k", std::to_string(o.top_k)},
                     {"n_clusters", std::to_string(o.n_clusters)},
                     {"base_ffn", o.base_ffn},
                     {"gating", o.gating},
                     {"lora_r", std::to_string(o.lora.rank)},
                     {"lora_alpha", std::to_string(o.lora.alpha)},
                     {"lora_dropout", std::to_string(o.lora.dropout)}});
  std::printf("%s\n", info.base_model.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    write_epoch(parse(argc, argv));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "explainer_epoch_file: %s\n", error.what());
    return 1;
  }
  return 0;
}
