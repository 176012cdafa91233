// gavamoe train: the explainer's run folder, examples and outputs around the shared training loop
// (explainer_trainer.hpp, training_loop.hpp).
//
// Shapes: B examples of a micro-batch, T tokens.
#include "gavamoe/train/explainer_trainer.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/data/tokenizer_corpus.hpp"
#include "gavamoe/model/autocast.hpp"
#include "gavamoe/model/llama_config.hpp"
#include "gavamoe/model/memory_estimate.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/plot/svg.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "gavamoe/train/device.hpp"
#include "gavamoe/train/explanation_batches.hpp"
#include "gavamoe/train/lr_schedule.hpp"
#include "gavamoe/train/training_loop.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kLogName = "train_log.jsonl";

// Refuses an explainer whose training does not fit in the memory of `device`, before anything
// is allocated; each of the `world` ranks runs micro-batches of its share of train.batch_size.
void require_training_memory(const LlamaConfig& base, const ExplainerOptions& model,
                             const ExplainerTrainOptions& o, int world, torch::Device device) {
  const int64_t rows = (o.batch_size + world - 1) / world;
  require_memory("train: the explainer with micro-batches of train.batch_size x train.max_length",
                 explainer_training_memory(base, model, parse_base_dtype(o.base_dtype), rows,
                                           o.max_length, o.grad_checkpointing),
                 device);
}

// train.base_dtype is float32 or bfloat16, and bfloat16 only for a pretrained base (from
// scratch everything trains, in float32).
void require_base_dtype_fits(const std::string& base_dtype, const std::string& base_model) {
  if (base_dtype != "float32" && base_dtype != "bfloat16")
    throw Error("config key 'train.base_dtype' must be float32 or bfloat16, got \"" + base_dtype +
                "\"");
  if (base_model.empty() && base_dtype != "float32")
    throw Error("config key 'train.base_dtype' is " + base_dtype +
                ", but only a pretrained base (--base-model) can be bfloat16; from scratch "
                "everything trains in float32");
}

// The explainer's side of the shared loop (training_loop.hpp): micro-batches of encoded examples
// weighted by their target tokens, and the validation loss: the token cross-entropy of the
// validation examples (the load-balancing term left out), each rank taking a contiguous share.
class ExplainerTask : public TrainingTask {
 public:
  ExplainerTask(Explainer model, const ExampleSet& train, const ExampleSet& validation,
                int64_t pad_id, const ExplainerTrainOptions& options, torch::Device device,
                DataParallel* parallel, double unigram_ppl)
      : model_(std::move(model)),
        train_(train),
        validation_(validation),
        pad_id_(pad_id),
        o_(options),
        device_(device),
        dp_(parallel),
        unigram_ppl_(unigram_ppl) {}

  int64_t size() const override { return static_cast<int64_t>(train_.examples.size()); }
  double weight(int64_t example) const override {
    return static_cast<double>(train_.examples[example].target_count());
  }
  int64_t input_tokens(int64_t example) const override {
    return static_cast<int64_t>(train_.examples[example].ids.size());
  }

  torch::Tensor loss(const std::vector<int64_t>& examples, uint64_t) override {
    const auto batch = make_batch(train_.examples, examples, pad_id_, device_);
    Autocast autocast(o_.bf16, device_);
    return model_->loss(batch).sum;
  }

  Validation validate() override {
    const auto n = static_cast<int64_t>(validation_.examples.size());
    const int rank = dp_ ? dp_->rank() : 0, world = dp_ ? dp_->world_size() : 1;
    const int64_t begin = n * rank / world, end = n * (rank + 1) / world;
    auto total = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device_));
    for (int64_t from = begin; from < end; from += o_.batch_size) {
      std::vector<int64_t> picks(std::min(end - from, o_.batch_size));
      std::iota(picks.begin(), picks.end(), from);
      const auto batch = make_batch(validation_.examples, picks, pad_id_, device_);
      Autocast autocast(o_.bf16, device_);
      const ExplainerLoss loss = model_->loss(batch);
      auto ce = loss.sum.to(torch::kDouble);
      if (loss.aux.defined())
        ce = ce - o_.model.load_balance_weight * loss.aux.to(torch::kDouble) * loss.tokens;
      total += ce;
    }
    std::vector<double> sums = {total.item<double>()};
    if (dp_) dp_->all_reduce_sum(sums);
    double targets = 0;
    for (const auto& e : validation_.examples) targets += e.target_count();
    const double loss = sums[0] / targets, ppl = std::exp(loss);
    log::info("train: validation perplexity %.3f (unigram baseline %.3f)", ppl, unigram_ppl_);
    return {loss, {{"val_loss", loss}, {"val_ppl", ppl}}};
  }

 private:
  Explainer model_;
  const ExampleSet& train_;
  const ExampleSet& validation_;
  int64_t pad_id_;
  const ExplainerTrainOptions& o_;
  torch::Device device_;
  DataParallel* dp_;
  double unigram_ppl_;
};

TrainingLoopOptions loop_options(const ExplainerTrainOptions& o) {
  TrainingLoopOptions loop;
  loop.name = "train";
  loop.metric = "loss";
  loop.epochs = o.epochs;
  loop.batch_size = o.batch_size;
  loop.grad_accum = o.grad_accum;
  loop.lr = o.lr;
  loop.weight_decay = o.weight_decay;
  loop.warmup_steps = o.warmup_steps;
  loop.schedule = o.schedule;
  loop.grad_clip = o.grad_clip;
  loop.patience = o.patience;
  loop.higher_is_better = false;
  loop.log_every = o.log_every;
  loop.checkpoint_every = o.checkpoint_every;
  loop.seed = o.seed;
  loop.stop_after_steps = o.stop_after_steps;
  return loop;
}

std::vector<json> read_log(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw file_error(path, "cannot read the training log");
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  return lines;
}

// One `gavamoe train` run: its folder, examples and model around the shared loop.
class ExplainerRun {
 public:
  ExplainerRun(const Dataset& data, const ExplainerTrainOptions& options, std::string run_dir,
               DataParallel* parallel)
      : data_(data), o_(options), dir_(std::move(run_dir)), dp_(parallel) {
    if (o_.batch_size < 1 || o_.grad_accum < 1 || o_.epochs < 0 || o_.patience < 1 ||
        o_.log_every < 1 || o_.checkpoint_every < 0 || o_.warmup_steps < 0)
      throw Error(
          "config keys train.batch_size, train.grad_accum, train.patience and "
          "train.log_every must be at least 1; train.epochs, train.warmup_steps and "
          "train.checkpoint_every at least 0");
    LrSchedule::check_kind(o_.schedule);
    const int cuda_index = dp_ ? ParallelEnvironment::from_environment().local_rank : 0;
    device_ = resolve_device(o_.device, "train.device", cuda_index);
  }

  json run(const ExplainerSources* fresh) {
    const ExplainerRunInfo info = fresh ? prepare_run_folder(*fresh) : read_run_info();
    prepare_examples(info);
    build_model(info);
    log::info("train: %lld trainable parameters of %lld, %lld steps, device %s, %d rank(s)",
              static_cast<long long>(model_->trainable_count()),
              static_cast<long long>(model_->parameter_count()),
              static_cast<long long>(total_steps_), device_.str().c_str(), world());
    if (info.options.top_k == 1 && info.options.n_experts > 1)
      log::warn(
          "train: with train.top_k 1 the chosen expert's weight renormalises to 1, so the routers "
          "get no gradient and routing stays as initialised; use top_k >= 2");
    ExplainerTask task(model_, train_, validation_, pad_id_, o_, device_, dp_, unigram_ppl_);
    const TrainingResult result =
        run_training(*model_, task, loop_options(o_), dir_, /*resume=*/fresh == nullptr, dp_);
    if (result.stopped) return {{"stopped", true}};
    return finish(result);
  }

 private:
  bool is_main() const { return !dp_ || dp_->is_main(); }
  int world() const { return dp_ ? dp_->world_size() : 1; }
  void barrier() {
    if (dp_) dp_->barrier();
  }

  // ---- setup ----

  // Tokenizer, VAE link and explainer.json of a new run (rank 0 writes, the others wait).
  ExplainerRunInfo prepare_run_folder(const ExplainerSources& s) {
    require_vae_run(s.vae_run);
    ExplainerRunInfo info;
    info.options = o_.model;
    info.vae_run = fs::absolute(s.vae_run).lexically_normal().string();
    if (!s.base_model.empty()) info.base_model = resolve_pretrained(s.base_model);
    require_base_dtype_fits(o_.base_dtype, s.base_model);
    info.base_dtype = o_.base_dtype;
    if (is_main()) {
      make_dirs(dir_);
      if (!info.base_model.empty()) {
        // The base's own tokenizer with its settings (tokenizer.json or tokenizer.model, and
        // tokenizer_config.json), whatever the base's format.
        save_hf_tokenizer(*load_pretrained_tokenizer(info.base_model), dir_);
      } else if (!s.tokenizer.empty()) {
        if (!fs::exists(s.tokenizer)) throw file_error(s.tokenizer, "no such tokenizer model");
        write_file_atomic(dir_ + "/tokenizer.model", read_file(s.tokenizer));
      } else {
        data_.require_text("train");
        TokenizerTrainOptions t;
        t.vocab_size = o_.vocab_size;
        t.seed = o_.seed;
        log::info("train: training a %d-piece tokenizer on %s", o_.vocab_size, data_.path.c_str());
        train_tokenizer(tokenizer_corpus(data_), t, dir_ + "/tokenizer.model");
      }
      const fs::path link = fs::path(dir_) / "vae";
      fs::remove(link);
      fs::create_directory_symlink(info.vae_run, link);
    }
    barrier();
    const auto tokenizer = load_tokenizer(dir_);
    if (!info.base_model.empty()) {
      info.base_model = fs::absolute(info.base_model).lexically_normal().string();
    } else {
      // The base takes the tokenizer's vocabulary and special ids.
      LlamaConfig config = LlamaConfig::load(s.model_config);
      config.vocab_size = tokenizer->vocab_size();
      config.bos_token_id = tokenizer->bos_id();
      config.eos_token_ids = {tokenizer->eos_id()};
      info.model_config = config.to_json();
    }
    const PlaceholderIds placeholders = placeholder_ids(*tokenizer);
    info.options.user_token = placeholders.user;
    info.options.item_token = placeholders.item;
    vae_ = load_trained_vae(info.vae_run);
    info.options.n_clusters = vae_.model->options.clusters;
    info.options.pretrained_base = !info.base_model.empty();
    if (is_main()) write_file_atomic(dir_ + "/explainer.json", info.to_json().dump(2) + "\n");
    return info;
  }

  ExplainerRunInfo read_run_info() {
    const std::string path = dir_ + "/explainer.json";
    if (!fs::exists(path)) throw file_error(dir_, "not a train run folder (no explainer.json)");
    auto info = read_explainer_run_info(dir_);
    vae_ = load_trained_vae(info.vae_run);
    return info;
  }

  void prepare_examples(const ExplainerRunInfo& info) {
    data_.require_text("train");
    const auto tokenizer = load_tokenizer(dir_);
    const PromptOptions prompt =
        explainer_prompt_options(info, *tokenizer, o_.template_name, o_.max_length);
    pad_id_ = tokenizer->pad_id() >= 0 ? tokenizer->pad_id() : tokenizer->eos_id();

    for (Subset s : {Subset::train, Subset::validation}) {
      if (data_.subset(s).empty())
        throw Error(data_.path + ": the " + subset_name(s) + " subset is empty");
      ExampleSet set;
      try {
        set = encode_examples(data_, data_.subset(s), *tokenizer, prompt, vae_, o_.unknown_ids);
      } catch (const Error& e) {
        throw Error(data_.path + " with the VAE run " + info.vae_run + ": " + e.what());
      }
      log::info(
          "train: %zu %s examples, %lld skipped (prompt longer than %lld tokens), %lld "
          "with a truncated explanation",
          set.examples.size(), subset_name(s), static_cast<long long>(set.skipped),
          static_cast<long long>(o_.max_length), static_cast<long long>(set.truncated));
      if (set.examples.empty())
        throw Error(data_.path + ": no " + std::string(subset_name(s)) +
                    " record fits train.max_length = " + std::to_string(o_.max_length));
      (s == Subset::train ? train_ : validation_) = std::move(set);
    }
  }

  void build_model(const ExplainerRunInfo& info) {
    require_training_memory(explainer_base_config(info), info.options, o_, world(), device_);
    model_ = build_explainer(info, o_.seed, device_);
    model_->llama->gradient_checkpointing = o_.grad_checkpointing;
    if (o_.max_length > model_->llama->config.max_position_embeddings)
      throw Error("config key 'train.max_length' (" + std::to_string(o_.max_length) +
                  ") exceeds the model's max_position_embeddings (" +
                  std::to_string(model_->llama->config.max_position_embeddings) + ")");
    const auto n = static_cast<int64_t>(train_.examples.size());
    const int64_t micro_batches = (n + o_.batch_size - 1) / o_.batch_size;
    total_steps_ = (micro_batches + o_.grad_accum - 1) / o_.grad_accum * o_.epochs;
    unigram_ppl_ =
        unigram_perplexity(train_.examples, validation_.examples, model_->llama->config.vocab_size);
  }

  // ---- outputs ----

  // The run's outputs once the loop returned with the best validation's weights.
  json finish(const TrainingResult& result) {
    const double train_seconds =
        std::accumulate(result.epoch_seconds.begin(), result.epoch_seconds.end(), 0.0);
    // Every finished epoch fed every training example once.
    double epoch_tokens = 0;
    for (const auto& e : train_.examples) epoch_tokens += static_cast<double>(e.ids.size());
    const bool validated = result.best_epoch > 0;
    json metrics = {
        {"best_epoch", result.best_epoch},
        {"best_val_loss", validated ? json(result.best_score) : json()},
        {"best_val_ppl", validated ? json(std::exp(result.best_score)) : json()},
        {"unigram_val_ppl", unigram_ppl_},
        {"epochs_run", result.epochs_run},
        {"steps", result.steps},
        {"early_stopped", result.early_stopped},
        {"examples",
         {{"train", train_.examples.size()}, {"validation", validation_.examples.size()}}},
        {"skipped", {{"train", train_.skipped}, {"validation", validation_.skipped}}},
        {"truncated", {{"train", train_.truncated}, {"validation", validation_.truncated}}},
        {"trainable_parameters", model_->trainable_count()},
        {"parameters", model_->parameter_count()},
        {"tokens_per_s",
         train_seconds > 0
             ? json(epoch_tokens * static_cast<double>(result.epochs_run) / train_seconds)
             : json()},
        {"train_seconds", train_seconds},
        {"epoch_seconds", result.epoch_seconds},
        {"validation_seconds", result.validation_seconds},
        {"peak_rss_mib", result.peak_rss_mib},
        {"ranks", world()},
        {"device", device_.str()},
        {"seed", o_.seed}};
    if (is_main()) {
      std::map<std::string, torch::Tensor> weights;
      for (const auto& [name, p] : model_->trainable_parameters()) weights[name] = p.detach();
      write_safetensors(dir_ + "/explainer.safetensors", weights);
      write_loss_plot(read_log(dir_ + "/" + kLogName));
      write_file_atomic(dir_ + "/metrics.json", metrics.dump(2) + "\n");
    }
    barrier();
    return metrics;
  }

  void write_loss_plot(const std::vector<json>& log) const {
    plot::LineSeries train, validation;
    train.label = "training (mean over " + std::to_string(o_.log_every) + " steps)";
    validation.label = "validation";
    train.color = plot::palette(0);
    validation.color = plot::palette(1);
    validation.dashed = true;
    for (const auto& line : log) {
      auto& series = line.contains("loss") ? train : validation;
      series.x.push_back(line.at("step").get<double>());
      series.y.push_back(line.at(line.contains("loss") ? "loss" : "val_loss").get<double>());
    }
    plot::ChartOptions chart;
    chart.title = "train: token cross-entropy";
    chart.x_label = "optimizer step";
    chart.y_label = "loss (nats per token)";
    write_file_atomic(dir_ + "/loss.svg", plot::line_chart_svg({train, validation}, chart));
  }

  const Dataset& data_;
  ExplainerTrainOptions o_;
  std::string dir_;
  DataParallel* dp_;
  torch::Device device_ = torch::kCPU;
  TrainedVae vae_;
  ExampleSet train_, validation_;
  int64_t pad_id_ = 0;
  Explainer model_{nullptr};
  int64_t total_steps_ = 0;
  double unigram_ppl_ = 0;  // the validation baseline (unigram_perplexity)
};

}  // namespace

ExplainerTrainOptions ExplainerTrainOptions::from_config(const RunConfig& config, uint64_t seed) {
  auto train = [&config](const std::string& key) -> const json& {
    return config.at("train." + key);
  };
  ExplainerTrainOptions o;
  o.model.n_experts = train("n_experts").get<int64_t>();
  o.model.expert_width = train("expert_width").get<int64_t>();
  o.model.top_k = train("top_k").get<int64_t>();
  o.model.gating = train("gating").get<std::string>();
  o.model.base_ffn = train("base_ffn").get<std::string>();
  o.model.moe_layers = train("moe_layers").get<std::vector<int64_t>>();
  o.model.load_balance_weight = train("load_balance_weight").get<double>();
  o.model.lora.rank = train("lora_r").get<int64_t>();
  o.model.lora.alpha = train("lora_alpha").get<double>();
  o.model.lora.dropout = train("lora_dropout").get<double>();
  o.template_name = train("template").get<std::string>();
  o.max_length = train("max_length").get<int64_t>();
  o.epochs = train("epochs").get<int64_t>();
  o.batch_size = train("batch_size").get<int64_t>();
  o.grad_accum = train("grad_accum").get<int64_t>();
  o.lr = train("lr").get<double>();
  o.weight_decay = train("weight_decay").get<double>();
  o.warmup_steps = train("warmup_steps").get<int64_t>();
  o.schedule = train("schedule").get<std::string>();
  o.grad_clip = train("grad_clip").get<double>();
  o.patience = train("patience").get<int64_t>();
  o.bf16 = train("bf16").get<bool>();
  o.grad_checkpointing = train("grad_checkpointing").get<bool>();
  o.log_every = train("log_every").get<int64_t>();
  o.checkpoint_every = train("checkpoint_every").get<int64_t>();
  o.vocab_size = train("vocab_size").get<int>();
  o.device = train("device").get<std::string>();
  o.base_dtype = train("base_dtype").get<std::string>();
  o.unknown_ids = parse_unknown_ids(config.get<std::string>("vae.unknown_ids"));
  o.seed = seed;
  LrSchedule::check_kind(o.schedule);
  return o;
}

void check_new_explainer_run(const Dataset& data, const ExplainerSources& sources,
                             const ExplainerTrainOptions& options, int cuda_index) {
  if (sources.base_model.empty() && sources.model_config.empty())
    throw Error("train: a base model (--base-model) or a model config (--scratch) is required");
  resolve_device(options.device, "train.device", cuda_index);
  require_base_dtype_fits(options.base_dtype, sources.base_model);
  require_vae_run(sources.vae_run);
  if (!sources.tokenizer.empty() && !fs::is_regular_file(sources.tokenizer))
    throw file_error(sources.tokenizer,
                     fs::is_directory(sources.tokenizer)
                         ? "is a folder; --tokenizer takes a tokenizer.model file"
                         : "no such tokenizer model");
  const std::vector<std::string> templates = chat_template_names();
  if (std::find(templates.begin(), templates.end(), options.template_name) == templates.end()) {
    std::string names;
    for (const std::string& name : templates) names += (names.empty() ? "" : ", ") + name;
    throw Error("config key 'train.template' must be one of " + names + ", got \"" +
                options.template_name + "\"");
  }
  data.require_text("train");
  for (Subset s : {Subset::train, Subset::validation})
    if (data.subset(s).empty())
      throw Error(data.path + ": the " + subset_name(s) + " subset is empty");
  // The base's shape (its config only, no weights): the MoE layers and the prompt length must
  // fit it.
  const LlamaConfig base = sources.base_model.empty() ? LlamaConfig::load(sources.model_config)
                                                      : load_pretrained_config(sources.base_model);
  std::vector<int64_t> seen;
  for (int64_t layer : options.model.moe_layers) {
    if (layer >= base.num_hidden_layers)
      throw Error("config key 'train.moe_layers': layer " + std::to_string(layer) +
                  " is past the base's " + std::to_string(base.num_hidden_layers) + " layers (0.." +
                  std::to_string(base.num_hidden_layers - 1) + ")");
    if (std::find(seen.begin(), seen.end(), layer) != seen.end())
      throw Error("config key 'train.moe_layers' lists layer " + std::to_string(layer) + " twice");
    seen.push_back(layer);
  }
  if (options.max_length > base.max_position_embeddings)
    throw Error("config key 'train.max_length' (" + std::to_string(options.max_length) +
                ") exceeds the model's max_position_embeddings (" +
                std::to_string(base.max_position_embeddings) + ")");
  ExplainerOptions model = options.model;
  model.pretrained_base = !sources.base_model.empty();
  require_training_memory(base, model, options, ParallelEnvironment::from_environment().world_size,
                          resolve_device(options.device, "train.device", cuda_index));
}

json train_explainer(const Dataset& data, const ExplainerSources& sources,
                     const ExplainerTrainOptions& options, const std::string& run_dir,
                     DataParallel* parallel) {
  if (sources.base_model.empty() && sources.model_config.empty())
    throw Error("train: a base model (--base-model) or a model config (--scratch) is required");
  ExplainerRun run(data, options, run_dir, parallel);
  return run.run(&sources);
}

json resume_explainer(const Dataset& data, const ExplainerTrainOptions& options,
                      const std::string& run_dir, DataParallel* parallel) {
  // A resumed run keeps the seed it started with.
  ExplainerTrainOptions effective = options;
  effective.seed = checkpoint_seed(run_dir, options.seed);
  ExplainerRun run(data, effective, run_dir, parallel);
  return run.run(nullptr);
}

}  // namespace gavamoe
