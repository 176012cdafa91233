// gavamoe train: the explainer's training loop, checkpoints and outputs (explainer_trainer.hpp).
//
// Shapes: B examples of a micro-batch, T tokens, P trainable tensors.
#include "gavamoe/train/explainer_trainer.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <random>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/core/seed_mix.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/data/tokenizer_corpus.hpp"
#include "gavamoe/model/archive_file.hpp"
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

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kCheckpoint = "checkpoint";

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
constexpr const char* kLogName = "train_log.jsonl";

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

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The sums a step or a validation pass reduces over the ranks.
struct TokenSums {
  double loss = 0;     // summed token cross-entropy
  double targets = 0;  // target tokens
  double inputs = 0;   // input tokens (prompts included)
};

// The folder holding the last complete checkpoint of a run, or "" when there is none.
std::string checkpoint_dir(const std::string& run_dir) {
  for (const char* name : {"checkpoint", "checkpoint.old"}) {
    const fs::path dir = fs::path(run_dir) / name;
    if (fs::exists(dir / "state.json")) return dir.string();
  }
  return "";
}

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
    if (fresh) {
      if (dp_) dp_->broadcast(params_);
      if (is_main()) write_file_atomic(dir_ + "/" + kLogName, "");
    } else {
      load_checkpoint();
    }
    log::info("train: %lld trainable parameters of %lld, %lld steps, device %s, %d rank(s)",
              static_cast<long long>(model_->trainable_count()),
              static_cast<long long>(model_->parameter_count()),
              static_cast<long long>(schedule_.total_steps), device_.str().c_str(), world());
    if (info.options.top_k == 1 && info.options.n_experts > 1)
      log::warn(
          "train: with train.top_k 1 the chosen expert's weight renormalises to 1, so the routers "
          "get no gradient and routing stays as initialised; use top_k >= 2");
    while (epoch_ < o_.epochs && bad_epochs_ < o_.patience) {
      if (!train_epoch()) return {{"stopped", true}};
      end_epoch();
    }
    if (bad_epochs_ >= o_.patience)
      log::info("train: early stop after epoch %lld, best validation loss %.4f (epoch %lld)",
                static_cast<long long>(epoch_), best_loss_, static_cast<long long>(best_epoch_));
    return finish();
  }

 private:
  bool is_main() const { return !dp_ || dp_->is_main(); }
  int rank() const { return dp_ ? dp_->rank() : 0; }
  int world() const { return dp_ ? dp_->world_size() : 1; }
  void barrier() {
    if (dp_) dp_->barrier();
  }
  void reduce(TokenSums& sums) {
    if (!dp_) return;
    // Only the loss is spread over the ranks; the counts are known to every rank.
    std::vector<double> values = {sums.loss};
    dp_->all_reduce_sum(values);
    sums.loss = values[0];
  }

  // ---- setup ----

  // Tokenizer, VAE link and explainer.json of a new run (rank 0 writes, the others wait).
  ExplainerRunInfo prepare_run_folder(const ExplainerSources& s) {
    if (!fs::exists(s.vae_run + "/vae.json"))
      throw file_error(s.vae_run, "not a pretrain-vae run folder (no vae.json)");
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
    for (auto& [name, p] : model_->trainable_parameters()) {
      names_.push_back(name);
      params_.push_back(p);
    }
    // Weight decay on matrices only, not on norms and biases.
    std::vector<torch::Tensor> decayed, plain;
    for (const auto& p : params_) (p.dim() >= 2 ? decayed : plain).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    for (auto* group : {&decayed, &plain})
      if (!group->empty())
        groups.emplace_back(*group, std::make_unique<torch::optim::AdamWOptions>(
                                        torch::optim::AdamWOptions(o_.lr).weight_decay(
                                            group == &decayed ? o_.weight_decay : 0.0)));
    optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups));

    const auto n = static_cast<int64_t>(train_.examples.size());
    micro_batches_ = (n + o_.batch_size - 1) / o_.batch_size;
    steps_per_epoch_ = (micro_batches_ + o_.grad_accum - 1) / o_.grad_accum;
    schedule_ = {o_.lr, o_.warmup_steps, steps_per_epoch_ * o_.epochs, o_.schedule};
  }

  // ---- training ----

  std::vector<int64_t> epoch_order(int64_t epoch) const {
    std::vector<int64_t> order(train_.examples.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(seed_mix(o_.seed, epoch)));
    return order;
  }

  // One optimizer step (step_ of the run, position_ of the epoch); returns the global sums.
  TokenSums train_step(const std::vector<int64_t>& order) {
    const int64_t first = position_ * o_.grad_accum;
    const int64_t last = std::min(micro_batches_, first + o_.grad_accum);
    // Every rank knows the whole order, so the step's global target count needs no exchange.
    double step_targets = 0, step_inputs = 0;
    const auto end = std::min<int64_t>(order.size(), last * o_.batch_size);
    for (int64_t i = first * o_.batch_size; i < end; ++i) {
      step_targets += train_.examples[order[i]].target_count();
      step_inputs += train_.examples[order[i]].ids.size();
    }
    model_->train();
    // Zeroed, never undefined: every parameter takes the same update on every rank.
    for (auto& p : params_) {
      if (p.grad().defined())
        p.mutable_grad().zero_();
      else
        p.mutable_grad() = torch::zeros_like(p);
    }
    auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device_));
    for (int64_t micro = first; micro < last; ++micro) {
      const auto picks = micro_batch_share(order, micro, o_.batch_size, rank(), world());
      if (picks.empty()) continue;
      torch::manual_seed(seed_mix(seed_mix(seed_mix(o_.seed, step_), micro), rank()));
      const auto batch = make_batch(train_.examples, picks, pad_id_, device_);
      ExplainerLoss loss;
      {
        Autocast autocast(o_.bf16, device_);
        loss = model_->loss(batch);
      }
      (loss.sum / step_targets).backward();
      loss_sum += loss.sum.detach().to(torch::kDouble);
    }
    if (dp_) dp_->all_reduce_gradients(params_);
    TokenSums sums{loss_sum.item<double>(), step_targets, step_inputs};
    reduce(sums);
    if (!std::isfinite(sums.loss))
      throw Error(
          log::format("train: the loss is not finite at step %lld (epoch %lld); try a "
                      "smaller train.lr or train.grad_clip",
                      static_cast<long long>(step_ + 1), static_cast<long long>(epoch_ + 1)));
    // The norm before clipping is logged; an infinite bound measures without clipping.
    grad_norm_ = torch::nn::utils::clip_grad_norm_(
        params_, o_.grad_clip > 0 ? o_.grad_clip : std::numeric_limits<double>::infinity());
    lr_ = schedule_.at(step_);
    for (auto& group : optimizer_->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr_);
    optimizer_->step();
    return sums;
  }

  // Runs the rest of the current epoch; false when stop_after_steps ended the run.
  bool train_epoch() {
    const auto order = epoch_order(epoch_);
    std::optional<Progress> progress;
    if (is_main())
      progress.emplace(log::format("epoch %lld", static_cast<long long>(epoch_ + 1)),
                       steps_per_epoch_, "step");
    while (position_ < steps_per_epoch_) {
      const auto start = Clock::now();
      const TokenSums sums = train_step(order);
      ++position_;
      ++step_;
      const double seconds = seconds_since(start);
      train_seconds_ += seconds;
      train_tokens_ += sums.inputs;
      window_seconds_ += seconds;
      window_.loss += sums.loss;
      window_.targets += sums.targets;
      window_.inputs += sums.inputs;
      if (step_ % o_.log_every == 0) log_training();
      if (progress) progress->update(position_, sums.loss / sums.targets);
      const bool stop = o_.stop_after_steps > 0 && step_ == o_.stop_after_steps;
      if (stop || (o_.checkpoint_every > 0 && step_ % o_.checkpoint_every == 0)) save_checkpoint();
      if (stop) return false;
    }
    if (progress) progress->finish();
    return true;
  }

  void log_training() {
    append_log({{"step", step_},
                {"epoch", epoch_ + 1},
                {"loss", window_.loss / window_.targets},
                {"lr", lr_},
                {"grad_norm", grad_norm_},
                {"tokens_per_s", window_.inputs / std::max(window_seconds_, 1e-9)}});
    window_ = {};
    window_seconds_ = 0;
  }

  // Summed cross-entropy over the validation examples, shared out among the ranks.
  TokenSums validate() {
    torch::NoGradGuard no_grad;
    model_->eval();
    const auto n = static_cast<int64_t>(validation_.examples.size());
    const int64_t begin = n * rank() / world(), end = n * (rank() + 1) / world();
    auto total = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device_));
    for (int64_t from = begin; from < end; from += o_.batch_size) {
      std::vector<int64_t> picks(std::min(end - from, o_.batch_size));
      std::iota(picks.begin(), picks.end(), from);
      const auto batch = make_batch(validation_.examples, picks, pad_id_, device_);
      Autocast autocast(o_.bf16, device_);
      const ExplainerLoss loss = model_->loss(batch);
      // Cross-entropy only: the load-balancing term is not part of the perplexity.
      auto ce = loss.sum.to(torch::kDouble);
      if (loss.aux.defined())
        ce = ce - o_.model.load_balance_weight * loss.aux.to(torch::kDouble) * loss.tokens;
      total += ce;
    }
    TokenSums sums{total.item<double>(), 0.0, 0.0};
    reduce(sums);
    for (const auto& e : validation_.examples) sums.targets += e.target_count();
    return sums;
  }

  void end_epoch() {
    const TokenSums sums = validate();
    const double val_loss = sums.loss / sums.targets;
    const double val_ppl = std::exp(val_loss);
    append_log(
        {{"step", step_}, {"epoch", epoch_ + 1}, {"val_loss", val_loss}, {"val_ppl", val_ppl}});
    log::info("epoch %lld: validation loss %.4f, perplexity %.3f (unigram baseline %.3f)",
              static_cast<long long>(epoch_ + 1), val_loss, val_ppl, unigram_ppl());
    if (val_loss < best_loss_) {
      best_loss_ = val_loss;
      best_epoch_ = epoch_ + 1;
      bad_epochs_ = 0;
      best_.clear();
      for (size_t k = 0; k < params_.size(); ++k)
        best_[names_[k]] = params_[k].detach().to(torch::kCPU, /*non_blocking=*/false, true);
    } else {
      ++bad_epochs_;
    }
    ++epoch_;
    position_ = 0;
    save_checkpoint();
  }

  double unigram_ppl() {
    if (unigram_ppl_ < 0)
      unigram_ppl_ = unigram_perplexity(train_.examples, validation_.examples,
                                        model_->llama->config.vocab_size);
    return unigram_ppl_;
  }

  void append_log(const json& line) {
    log_.push_back(line);
    if (!is_main()) return;
    std::ofstream out(dir_ + "/" + kLogName, std::ios::app);
    out << line.dump() << "\n";
    if (!out) throw file_error(dir_ + "/" + kLogName, "write failed");
  }

  // ---- checkpoints ----

  std::map<std::string, torch::Tensor> current_weights() const {
    std::map<std::string, torch::Tensor> weights;
    for (size_t k = 0; k < params_.size(); ++k) weights[names_[k]] = params_[k].detach();
    return weights;
  }

  // Written into checkpoint.tmp, then swapped in whole: a kill at any moment leaves one
  // complete checkpoint (checkpoint, or checkpoint.old during the swap).
  void save_checkpoint() {
    if (is_main()) {
      const fs::path dir(dir_), tmp = dir / "checkpoint.tmp", old = dir / "checkpoint.old";
      fs::remove_all(tmp);
      make_dirs(tmp.string());
      try {
        write_checkpoint_files(tmp);
      } catch (...) {  // e.g. a full disk: keep the previous checkpoint, leave no partial one
        std::error_code ignored;
        fs::remove_all(tmp, ignored);
        throw;
      }
      fs::remove_all(old);
      if (fs::exists(dir / kCheckpoint)) fs::rename(dir / kCheckpoint, old);
      fs::rename(tmp, dir / kCheckpoint);
      fs::remove_all(old);
    }
    barrier();
  }

  void write_checkpoint_files(const fs::path& tmp) {
    write_safetensors((tmp / "weights.safetensors").string(), current_weights());
    if (!best_.empty()) write_safetensors((tmp / "best.safetensors").string(), best_);
    {
      torch::serialize::OutputArchive archive;
      optimizer_->save(archive);
      save_archive(archive, (tmp / "optimizer.pt").string());
    }
    const json state = {{"seed", o_.seed},
                        {"step", step_},
                        {"epoch", epoch_},
                        {"position", position_},
                        {"best_loss", std::isfinite(best_loss_) ? json(best_loss_) : json()},
                        {"best_epoch", best_epoch_},
                        {"bad_epochs", bad_epochs_},
                        {"lr", lr_},
                        {"window", {window_.loss, window_.targets, window_.inputs}},
                        {"train_seconds", train_seconds_},
                        {"train_tokens", train_tokens_},
                        {"log", log_}};
    write_file_atomic((tmp / "state.json").string(), state.dump() + "\n");
  }

  void load_checkpoint() {
    const fs::path dir = checkpoint_dir(dir_);
    if (dir.empty()) throw file_error(dir_, "no checkpoint to resume from (checkpoint/state.json)");
    const std::string state_path = (dir / "state.json").string();
    const json state = read_json_file(state_path);
    try {
      step_ = state.at("step").get<int64_t>();
      epoch_ = state.at("epoch").get<int64_t>();
      position_ = state.at("position").get<int64_t>();
      best_loss_ = state.at("best_loss").is_null() ? std::numeric_limits<double>::infinity()
                                                   : state.at("best_loss").get<double>();
      best_epoch_ = state.at("best_epoch").get<int64_t>();
      bad_epochs_ = state.at("bad_epochs").get<int64_t>();
      lr_ = state.at("lr").get<double>();
      const auto& window = state.at("window");
      window_ = {window.at(0).get<double>(), window.at(1).get<double>(),
                 window.at(2).get<double>()};
      train_seconds_ = state.at("train_seconds").get<double>();
      train_tokens_ = state.at("train_tokens").get<double>();
      log_ = state.at("log");
    } catch (const json::exception&) {
      throw file_error(state_path, "checkpoint state is damaged");
    }
    if (position_ > steps_per_epoch_)
      throw file_error(state_path, "checkpoint does not match the data (epoch position " +
                                       std::to_string(position_) + " of " +
                                       std::to_string(steps_per_epoch_) + " steps)");
    model_->load_trainable(load_weights((dir / "weights.safetensors").string()),
                           (dir / "weights.safetensors").string());
    if (fs::exists(dir / "best.safetensors"))
      best_ = load_weights((dir / "best.safetensors").string());
    const std::string optimizer_path = (dir / "optimizer.pt").string();
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(optimizer_path, device_);
      optimizer_->load(archive);
    } catch (const c10::Error&) {
      throw file_error(optimizer_path, "not a readable optimizer state of this model");
    }
    if (is_main()) {
      // Lines logged after the checkpoint by the killed run are dropped.
      std::string text;
      for (const auto& line : log_) text += line.dump() + "\n";
      write_file_atomic(dir_ + "/" + kLogName, text);
    }
    log::info("train: resuming %s at step %lld (epoch %lld, step %lld of %lld)", dir_.c_str(),
              static_cast<long long>(step_), static_cast<long long>(epoch_ + 1),
              static_cast<long long>(position_), static_cast<long long>(steps_per_epoch_));
  }

  static std::map<std::string, torch::Tensor> load_weights(const std::string& path) {
    const SafetensorsReader reader(path);
    std::map<std::string, torch::Tensor> weights;
    for (const auto& name : reader.names()) weights[name] = reader.load(name);
    return weights;
  }

  // ---- outputs ----

  json finish() {
    json metrics = {
        {"best_epoch", best_epoch_},
        {"best_val_loss", best_epoch_ > 0 ? json(best_loss_) : json()},
        {"best_val_ppl", best_epoch_ > 0 ? json(std::exp(best_loss_)) : json()},
        {"unigram_val_ppl", unigram_ppl()},
        {"epochs_run", epoch_},
        {"steps", step_},
        {"early_stopped", bad_epochs_ >= o_.patience},
        {"examples",
         {{"train", train_.examples.size()}, {"validation", validation_.examples.size()}}},
        {"skipped", {{"train", train_.skipped}, {"validation", validation_.skipped}}},
        {"truncated", {{"train", train_.truncated}, {"validation", validation_.truncated}}},
        {"trainable_parameters", model_->trainable_count()},
        {"parameters", model_->parameter_count()},
        {"tokens_per_s", train_seconds_ > 0 ? json(train_tokens_ / train_seconds_) : json()},
        {"train_seconds", train_seconds_},
        {"ranks", world()},
        {"device", device_.str()},
        {"seed", o_.seed}};
    if (is_main()) {
      write_safetensors(dir_ + "/explainer.safetensors", best_.empty() ? current_weights() : best_);
      write_loss_plot();
      write_file_atomic(dir_ + "/metrics.json", metrics.dump(2) + "\n");
    }
    barrier();
    return metrics;
  }

  void write_loss_plot() const {
    plot::LineSeries train, validation;
    train.label = "training (mean over " + std::to_string(o_.log_every) + " steps)";
    validation.label = "validation";
    train.color = plot::palette(0);
    validation.color = plot::palette(1);
    validation.dashed = true;
    for (const auto& line : log_) {
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
  std::vector<std::string> names_;
  std::vector<torch::Tensor> params_;  // [P], trainable, in name order
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t micro_batches_ = 0, steps_per_epoch_ = 0;
  LrSchedule schedule_;
  double unigram_ppl_ = -1;
  // Progress, saved in every checkpoint.
  int64_t step_ = 0;      // optimizer steps done
  int64_t epoch_ = 0;     // epochs finished
  int64_t position_ = 0;  // steps done in the current epoch
  double best_loss_ = std::numeric_limits<double>::infinity();
  int64_t best_epoch_ = 0;
  int64_t bad_epochs_ = 0;
  double lr_ = 0;
  double grad_norm_ = 0;  // of the last step, before clipping
  TokenSums window_;      // since the last training log line
  double window_seconds_ = 0;
  double train_seconds_ = 0, train_tokens_ = 0;
  std::map<std::string, torch::Tensor> best_;  // CPU
  json log_ = json::array();
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
  if (!fs::exists(fs::path(sources.vae_run) / "vae.json"))
    throw file_error(sources.vae_run, "not a pretrain-vae run folder (no vae.json)");
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
  const std::string checkpoint = checkpoint_dir(run_dir);
  if (!checkpoint.empty())
    effective.seed = read_json_file(checkpoint + "/state.json").value("seed", options.seed);
  ExplainerRun run(data, effective, run_dir, parallel);
  return run.run(nullptr);
}

}  // namespace gavamoe
