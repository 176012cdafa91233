// The surrogate's training task on the shared loop, and the align run folder (align_trainer.hpp).
// Shapes as there.
#include "gavamoe/align/align_trainer.hpp"

#include <filesystem>
#include <numeric>

#include "gavamoe/align/align_batches.hpp"
#include "gavamoe/align/surrogate.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/rec/sampling.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/train/data_parallel.hpp"
#include "gavamoe/train/device.hpp"
#include "gavamoe/train/training_loop.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class AlignTask : public TrainingTask {
 public:
  AlignTask(Surrogate& model, AlignExamples train, AlignExamples valid, int64_t eval_batch)
      : model_(model),
        train_(std::move(train)),
        valid_(std::move(valid)),
        eval_batch_(eval_batch) {}

  int64_t size() const override { return static_cast<int64_t>(train_.examples.size()); }
  double weight(int64_t example) const override {
    return static_cast<double>(train_.examples[example].trained_tokens());
  }
  int64_t input_tokens(int64_t example) const override {
    return static_cast<int64_t>(train_.examples[example].ids.size());
  }
  torch::Tensor loss(const std::vector<int64_t>& examples, uint64_t) override {
    return model_->loss(make_surrogate_batch(train_, examples)).first;
  }
  Validation validate() override {
    torch::NoGradGuard no_grad;
    double sum = 0;
    int64_t tokens = 0;
    const int64_t n = static_cast<int64_t>(valid_.examples.size());
    for (int64_t begin = 0; begin < n; begin += eval_batch_) {
      std::vector<int64_t> rows(std::min(eval_batch_, n - begin));
      std::iota(rows.begin(), rows.end(), begin);
      const auto [loss, count] = model_->loss(make_surrogate_batch(valid_, rows));
      sum += loss.item<double>();
      tokens += count;
    }
    Validation v;
    v.score = tokens > 0 ? sum / static_cast<double>(tokens) : 0.0;
    v.details = {{"loss", v.score}, {"tokens", tokens}, {"samples", n}};
    return v;
  }

 private:
  Surrogate& model_;
  AlignExamples train_, valid_;
  int64_t eval_batch_;
};

// The first `limit` of `queries` after a shuffle seeded with `seed` (all of them, in their
// order, for limit 0 or a limit at least their number).
std::vector<AlignQuery> seeded_subset(std::vector<AlignQuery> queries, int64_t limit,
                                      uint64_t seed) {
  if (limit <= 0 || limit >= static_cast<int64_t>(queries.size())) return queries;
  Rng rng(seed);
  const auto order = draw_distinct(rng, static_cast<int64_t>(queries.size()), limit);
  std::vector<AlignQuery> kept;
  for (int64_t i : order) kept.push_back(std::move(queries[i]));
  return kept;
}

json count_by_type(const std::vector<AlignQuery>& queries) {
  json counts = json::object();
  for (const auto& q : queries) counts[q.type] = counts.value(q.type, int64_t{0}) + 1;
  return counts;
}

json train(const AlignTrainOptions& o_in, const std::string& run_dir, bool resume,
           const std::function<void()>& on_run_folder, DataParallel* parallel) {
  const bool is_main = !parallel || parallel->is_main();
  AlignTrainOptions o = o_in;
  AlignRunInfo info;
  if (resume) {
    info = read_align_run_info(run_dir);
    o.variant = info.options.variant;
    o.data = info.data;
    o.rec_run = info.rec_run;
    o.base_model = info.base_model;
    o.template_name = info.template_name;
    o.max_length = info.max_length;
  }
  const AlignDataFolder folder = read_align_data_folder(o.data, o.variant, o.rec_run);
  const torch::Device device =
      parallel ? parallel->device() : resolve_device(o.device, "align.device");
  const RecRun rec = load_rec_run(folder.rec_run, device);
  check_pipeline(folder, rec.model);
  const SequenceDataset data = read_sequence_folder(folder.sequences);
  PretrainedModel base = load_pretrained(o.base_model, torch::kFloat32, device);
  if (!resume) {
    info.options.variant = o.variant;
    info.options.rec_dim = rec.recommender->dim();
    info.options.lora = {o.lora_rank, o.lora_alpha, o.lora_dropout};
    info.base_model = base.path;
    info.rec_run = fs::absolute(folder.rec_run).lexically_normal().string();
    info.data = fs::absolute(o.data).lexically_normal().string();
    info.template_name = o.template_name;
    info.max_length = o.max_length;
  }
  const AlignPromptOptions prompt = align_prompt_options(*base.tokenizer, info.template_name,
                                                         info.max_length, base.config.vocab_size);
  info.user_id = prompt.user_id;
  info.item_id = prompt.item_id;

  const auto train_queries =
      seeded_subset(read_align_queries(folder.train), o.max_train_samples, seed_mix(o.seed, 1));
  const auto valid_queries =
      seeded_subset(read_align_queries(folder.valid), o.valid_samples, seed_mix(o.seed, 2));
  AlignExamples train_examples = encode_align_examples(*base.tokenizer, train_queries, prompt,
                                                       *rec.recommender, data, folder.train, true);
  AlignExamples valid_examples = encode_align_examples(*base.tokenizer, valid_queries, prompt,
                                                       *rec.recommender, data, folder.valid, true);
  if (train_examples.examples.empty())
    throw file_error(folder.train, "no sample fits max_length " + std::to_string(o.max_length));

  Surrogate model(base.model, info.options, info.user_id, info.item_id, o.seed);
  model->to(device);
  const int64_t trainable = model->trainable_count();
  if (is_main) {
    if (!resume) {
      make_dirs(run_dir);
      save_hf_tokenizer(*base.tokenizer, run_dir);
      write_file_atomic(run_dir + "/" + kAlignRunFile, info.to_json().dump(2) + "\n");
    }
    on_run_folder();
  }
  log::info(
      "align train: variant %s on %s, %zu training samples (%lld skipped as too long), %zu "
      "validation samples, %lld trainable parameters, device %s",
      o.variant.c_str(), base.path.c_str(), train_examples.examples.size(),
      static_cast<long long>(train_examples.skipped), valid_examples.examples.size(),
      static_cast<long long>(trainable), device.str().c_str());
  json metrics = {{"variant", o.variant},
                  {"base_model", base.path},
                  {"trainable_parameters", trainable},
                  {"samples",
                   {{"train", train_examples.examples.size()},
                    {"train_skipped", train_examples.skipped},
                    {"train_by_type", count_by_type(train_queries)},
                    {"valid", valid_examples.examples.size()}}},
                  {"device", device.str()},
                  {"ranks", parallel ? parallel->world_size() : 1},
                  {"seed", o.seed}};
  if (o.variant == "none") {
    metrics["epochs_run"] = 0;
    if (is_main) write_file_atomic(run_dir + "/metrics.json", metrics.dump(2) + "\n");
    return metrics;
  }

  const int64_t steps_per_epoch =
      (static_cast<int64_t>(train_examples.examples.size()) + o.batch_size * o.grad_accum - 1) /
      (o.batch_size * o.grad_accum);
  AlignTask task(model, std::move(train_examples), std::move(valid_examples), o.batch_size);
  TrainingLoopOptions loop;
  loop.name = "align train " + o.variant;
  loop.metric = "validation loss";
  loop.epochs = o.epochs;
  loop.batch_size = o.batch_size;
  loop.grad_accum = o.grad_accum;
  loop.lr = o.lr;
  loop.schedule = "linear";
  loop.warmup_steps = static_cast<int64_t>(
      std::ceil(o.warmup_ratio * static_cast<double>(steps_per_epoch * o.epochs)));
  loop.grad_clip = o.grad_clip;
  loop.patience = o.patience;
  loop.higher_is_better = false;
  loop.log_every = o.log_every;
  loop.checkpoint_every = o.checkpoint_every;
  loop.seed = o.seed;
  loop.stop_after_steps = o.stop_after_steps;
  const TrainingResult result = run_training(*model, task, loop, run_dir, resume, parallel);
  if (result.stopped) return {{"stopped", true}};

  std::map<std::string, torch::Tensor> weights;
  for (const auto& [name, p] : model->trainable_parameters()) weights[name] = p.detach();
  if (is_main)
    write_safetensors(run_dir + "/" + kSurrogateFile, weights, {{"format", "gavamoe-align"}});
  const double train_seconds =
      std::accumulate(result.epoch_seconds.begin(), result.epoch_seconds.end(), 0.0);
  metrics["best_epoch"] = result.best_epoch;
  metrics["validation"] = result.best_details;
  metrics["epochs_run"] = result.epochs_run;
  metrics["steps"] = result.steps;
  metrics["early_stopped"] = result.early_stopped;
  metrics["epoch_seconds"] = result.epoch_seconds;
  metrics["train_seconds"] = train_seconds;
  metrics["validation_seconds"] = result.validation_seconds;
  metrics["peak_rss_mib"] = result.peak_rss_mib;
  if (is_main) write_file_atomic(run_dir + "/metrics.json", metrics.dump(2) + "\n");
  return metrics;
}

}  // namespace

AlignTrainOptions AlignTrainOptions::from_config(const RunConfig& config, uint64_t seed) {
  auto align = [&config](const std::string& key) -> const json& {
    return config.at("align." + key);
  };
  AlignTrainOptions o;
  o.base_model = align("base_model").get<std::string>();
  o.template_name = align("template").get<std::string>();
  o.max_length = align("max_length").get<int64_t>();
  o.epochs = align("epochs").get<int64_t>();
  o.batch_size = align("batch_size").get<int64_t>();
  o.grad_accum = align("grad_accum").get<int64_t>();
  o.lr = align("lr").get<double>();
  o.warmup_ratio = align("warmup_ratio").get<double>();
  o.grad_clip = align("grad_clip").get<double>();
  o.patience = align("patience").get<int64_t>();
  o.lora_rank = align("lora_r").get<int64_t>();
  o.lora_alpha = align("lora_alpha").get<double>();
  o.lora_dropout = align("lora_dropout").get<double>();
  o.max_train_samples = align("max_train_samples").get<int64_t>();
  o.valid_samples = align("valid_samples").get<int64_t>();
  o.log_every = align("log_every").get<int64_t>();
  o.checkpoint_every = align("checkpoint_every").get<int64_t>();
  o.device = align("device").get<std::string>();
  o.seed = seed;
  return o;
}

json train_surrogate(const AlignTrainOptions& options, const std::string& run_dir, bool resume,
                     const std::function<void()>& on_run_folder, DataParallel* parallel) {
  if (!resume) return train(options, run_dir, false, on_run_folder, parallel);
  AlignTrainOptions effective = options;
  effective.seed = checkpoint_seed(run_dir, options.seed);
  return train(effective, run_dir, true, on_run_folder, parallel);
}

}  // namespace gavamoe
