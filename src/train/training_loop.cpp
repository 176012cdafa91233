// The shared training loop (training_loop.hpp).
//
// Shapes: P trainable tensors.
#include "gavamoe/train/training_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/interrupt.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/core/peak_memory.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/core/seed_mix.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/train/data_parallel.hpp"
#include "gavamoe/train/lr_schedule.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Weights = std::map<std::string, torch::Tensor>;

constexpr const char* kLogName = "train_log.jsonl";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The folder holding the last complete checkpoint of a run, or "" when there is none.
std::string checkpoint_dir(const std::string& run_dir) {
  for (const char* name : {"checkpoint", "checkpoint.old"}) {
    const fs::path dir = fs::path(run_dir) / name;
    if (fs::exists(dir / "state.json")) return dir.string();
  }
  return "";
}

Weights load_weights(const std::string& path) {
  const SafetensorsReader reader(path);
  Weights weights;
  for (const auto& name : reader.names()) weights[name] = reader.load(name);
  return weights;
}

class TrainingRun {
 public:
  TrainingRun(torch::nn::Module& model, TrainingTask& task, const TrainingLoopOptions& options,
              std::string run_dir, DataParallel* parallel)
      : model_(model), task_(task), o_(options), dir_(std::move(run_dir)), dp_(parallel) {
    if (o_.batch_size < 1 || o_.grad_accum < 1 || o_.epochs < 0 || o_.patience < 1 ||
        o_.log_every < 1 || o_.checkpoint_every < 0 || o_.warmup_steps < 0)
      throw Error(o_.name +
                  ": batch size, gradient accumulation, patience and log interval must be at "
                  "least 1; epochs, warm-up steps and checkpoint interval at least 0");
    LrSchedule::check_kind(o_.schedule);
    if (task_.size() < 1) throw Error(o_.name + ": there are no training examples");
    for (const auto& item : model_.named_parameters(/*recurse=*/true)) {
      if (!item.value().requires_grad()) continue;
      names_.push_back(item.key());
      params_.push_back(item.value());
    }
    if (params_.empty()) throw Error(o_.name + ": the model has no trainable parameters");
    std::vector<torch::Tensor> decayed, plain;
    for (const auto& p : params_) (p.dim() >= 2 ? decayed : plain).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    for (auto* group : {&decayed, &plain})
      if (!group->empty())
        groups.emplace_back(*group, std::make_unique<torch::optim::AdamWOptions>(
                                        torch::optim::AdamWOptions(o_.lr).weight_decay(
                                            group == &decayed ? o_.weight_decay : 0.0)));
    optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups));
    micro_batches_ = (task_.size() + o_.batch_size - 1) / o_.batch_size;
    steps_per_epoch_ = (micro_batches_ + o_.grad_accum - 1) / o_.grad_accum;
    schedule_ = {o_.lr, o_.warmup_steps, std::max<int64_t>(1, steps_per_epoch_ * o_.epochs),
                 o_.schedule};
    PlateauOptions plateau = o_.plateau;
    plateau.higher_is_better = o_.higher_is_better;
    plateau_ = PlateauSchedule(plateau);
  }

  TrainingResult run(bool resume) {
    const InterruptScope interrupts(
        InterruptScope::Policy::second_ends,
        is_main() ? o_.name +
                        ": interrupted; stopping after this step with a checkpoint "
                        "(interrupt again to stop at once)"
                  : "");
    if (resume) {
      load_checkpoint();
    } else {
      // The ranks start from rank 0's weights, whatever each one initialised.
      if (dp_) dp_->broadcast(params_);
      if (is_main()) {
        make_dirs(dir_);
        write_file_atomic(dir_ + "/" + kLogName, "");
      }
    }
    TrainingResult result;
    if (o_.validate_first && validations_ == 0) {
      validate(/*before_training=*/true);
      save_checkpoint();
    }
    while (epoch_ < o_.epochs && bad_validations_ < o_.patience) {
      if (!train_epoch()) {
        result.stopped = true;
        return result;
      }
      ++epoch_;
      position_ = 0;
      validate(/*before_training=*/false);
      save_checkpoint();
      if (interrupt_agreed()) throw interrupted();
    }
    const bool early = bad_validations_ >= o_.patience;
    if (early)
      log::info("%s: early stop after epoch %lld, best validation %s %.5f (epoch %lld)",
                o_.name.c_str(), static_cast<long long>(epoch_), o_.metric.c_str(), best_score_,
                static_cast<long long>(best_epoch_));
    if (!best_.empty()) restore(best_);
    result.best_score = best_score_;
    result.best_epoch = best_epoch_;
    result.best_details = best_details_;
    result.epochs_run = epoch_;
    result.steps = step_;
    result.early_stopped = early;
    result.epoch_seconds = epoch_seconds_;
    result.validation_seconds = validation_seconds_;
    result.peak_rss_mib = run_peak_rss_mib();
    return result;
  }

 private:
  // The peak over this process and the ones before a resume.
  double run_peak_rss_mib() const { return std::max(peak_rss_mib_before_, peak_rss_mib()); }
  bool is_main() const { return !dp_ || dp_->is_main(); }
  int rank() const { return dp_ ? dp_->rank() : 0; }
  int world() const { return dp_ ? dp_->world_size() : 1; }
  void barrier() {
    if (dp_) dp_->barrier();
  }
  // Sums `value` over the ranks (itself for one process).
  double sum_over_ranks(double value) {
    if (!dp_) return value;
    std::vector<double> values = {value};
    dp_->all_reduce_sum(values);
    return values[0];
  }

  // Whether any rank has been sent SIGINT or SIGTERM: every rank asks after the same step, so
  // all stop there together (one all-reduce of a number a step).
  bool interrupt_agreed() { return sum_over_ranks(InterruptScope::count() > 0 ? 1.0 : 0.0) > 0; }

  // After the checkpoint of an interrupted run; rank 0 says where it stopped, the others nothing.
  Interrupted interrupted() const {
    const int signal = InterruptScope::last_signal() ? InterruptScope::last_signal() : SIGTERM;
    if (!is_main()) return Interrupted("", signal);
    const std::string where =
        position_ == 0
            ? log::format("the end of epoch %lld", static_cast<long long>(epoch_))
            : log::format("epoch %lld, step %lld of %lld", static_cast<long long>(epoch_ + 1),
                          static_cast<long long>(position_),
                          static_cast<long long>(steps_per_epoch_));
    return Interrupted(log::format("%s: interrupted by %s after step %lld (%s), checkpoint "
                                   "saved; resume with --resume %s",
                                   o_.name.c_str(), signal_name(signal).c_str(),
                                   static_cast<long long>(step_), where.c_str(), dir_.c_str()),
                       signal);
  }

  // ---- training ----

  // One optimizer step (step_ of the run, position_ of the epoch); returns its mean loss.
  double train_step(const std::vector<int64_t>& order) {
    const int64_t first = position_ * o_.grad_accum;
    const int64_t last = std::min(micro_batches_, first + o_.grad_accum);
    const auto n = static_cast<int64_t>(order.size());
    const int64_t end = std::min(n, last * o_.batch_size);
    // Every rank knows the whole order, so the step's global weight needs no exchange.
    double step_weight = 0;
    int64_t step_tokens = 0;
    for (int64_t i = first * o_.batch_size; i < end; ++i) {
      step_weight += task_.weight(order[i]);
      step_tokens += task_.input_tokens(order[i]);
    }
    model_.train();
    // Zeroed, never undefined: every parameter takes the same update on every rank.
    for (auto& p : params_) {
      if (p.grad().defined())
        p.mutable_grad().zero_();
      else
        p.mutable_grad() = torch::zeros_like(p);
    }
    double loss_sum = 0;
    for (int64_t micro = first; micro < last; ++micro) {
      const std::vector<int64_t> picks =
          micro_batch_share(order, micro, o_.batch_size, rank(), world());
      if (picks.empty()) continue;
      // Rank 0 keeps the one-process seed, so a group of one is the plain run.
      const uint64_t micro_seed = seed_mix(seed_mix(o_.seed, step_), micro);
      const uint64_t seed = rank() == 0 ? micro_seed : seed_mix(micro_seed, rank());
      torch::manual_seed(seed);
      const torch::Tensor loss = task_.loss(picks, seed);
      (loss / step_weight).backward();
      loss_sum += loss.detach().to(torch::kDouble).item<double>();
    }
    if (dp_) dp_->all_reduce_gradients(params_);
    loss_sum = sum_over_ranks(loss_sum);
    if (!std::isfinite(loss_sum))
      throw Error(log::format(
          "%s: the loss is not finite at step %lld (epoch %lld); try a "
          "smaller learning rate or gradient clipping",
          o_.name.c_str(), static_cast<long long>(step_ + 1), static_cast<long long>(epoch_ + 1)));
    // The norm before clipping is logged; an infinite bound measures without clipping.
    grad_norm_ = torch::nn::utils::clip_grad_norm_(
        params_, o_.grad_clip > 0 ? o_.grad_clip : std::numeric_limits<double>::infinity());
    lr_ = schedule_.at(step_) * plateau_.scale();
    for (auto& group : optimizer_->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr_);
    optimizer_->step();
    window_loss_ += loss_sum;
    window_weight_ += step_weight;
    window_examples_ += end - first * o_.batch_size;
    window_tokens_ += step_tokens;
    return loss_sum / step_weight;
  }

  // Runs the rest of the current epoch; false when stop_after_steps ended the run.
  bool train_epoch() {
    const auto order = epoch_order(task_.size(), o_.seed, epoch_);
    std::optional<Progress> progress;
    if (is_main())
      progress.emplace(
          log::format("%s epoch %lld", o_.name.c_str(), static_cast<long long>(epoch_ + 1)),
          steps_per_epoch_, "step");
    while (position_ < steps_per_epoch_) {
      const auto start = Clock::now();
      const double loss = train_step(order);
      ++position_;
      ++step_;
      const double seconds = seconds_since(start);
      epoch_seconds_now_ += seconds;
      window_seconds_ += seconds;
      if (step_ % o_.log_every == 0) log_training();
      if (progress) progress->update(position_, loss);
      const bool stop = o_.stop_after_steps > 0 && step_ == o_.stop_after_steps;
      const bool interrupt = interrupt_agreed();
      if (stop || interrupt || (o_.checkpoint_every > 0 && step_ % o_.checkpoint_every == 0))
        save_checkpoint();
      if (interrupt) throw interrupted();
      if (stop) return false;
    }
    if (progress) progress->finish();
    epoch_seconds_.push_back(epoch_seconds_now_);
    epoch_seconds_now_ = 0;
    return true;
  }

  void log_training() {
    const double seconds = std::max(window_seconds_, 1e-9);
    json line = {{"step", step_},
                 {"epoch", epoch_ + 1},
                 {"loss", window_loss_ / std::max(window_weight_, 1e-12)},
                 {"lr", lr_},
                 {"grad_norm", grad_norm_},
                 {"examples_per_s", window_examples_ / seconds}};
    if (window_tokens_ > 0) line["tokens_per_s"] = window_tokens_ / seconds;
    append_log(line);
    window_loss_ = window_weight_ = window_seconds_ = 0;
    window_examples_ = window_tokens_ = 0;
  }

  void validate(bool before_training) {
    const auto start = Clock::now();
    Validation v;
    {
      torch::NoGradGuard no_grad;
      model_.eval();
      v = task_.validate();
      model_.train();
    }
    // Rank 0's score decides for every rank (the others add 0).
    v.score = sum_over_ranks(is_main() ? v.score : 0.0);
    validation_seconds_ += seconds_since(start);
    ++validations_;
    json line = {{"step", step_}, {"epoch", epoch_}, {"val", v.score}};
    if (v.details.is_object())
      for (const auto& [key, value] : v.details.items()) line[key] = value;
    append_log(line);
    const bool better =
        best_epoch_ < 0 || (o_.higher_is_better ? v.score > best_score_ : v.score < best_score_);
    if (better) {
      best_score_ = v.score;
      best_epoch_ = epoch_;
      best_details_ = v.details;
      bad_validations_ = 0;
      best_.clear();
      for (size_t k = 0; k < params_.size(); ++k)
        best_[names_[k]] = params_[k].detach().to(torch::kCPU, /*non_blocking=*/false, true);
    } else {
      ++bad_validations_;
    }
    bool cut = false;
    if (!before_training) cut = plateau_.step(v.score, schedule_.at(step_));
    log::info(
        "%s: validation %s %.5f after %lld epoch(s)%s%s", o_.name.c_str(), o_.metric.c_str(),
        v.score, static_cast<long long>(epoch_), better ? " (best)" : "",
        cut ? log::format(", learning rate cut to %.3g", schedule_.at(step_) * plateau_.scale())
                  .c_str()
            : "");
  }

  void append_log(const json& line) {
    log_.push_back(line);
    if (!is_main()) return;
    std::ofstream out(dir_ + "/" + kLogName, std::ios::app);
    out << line.dump() << "\n";
    if (!out) throw file_error(dir_ + "/" + kLogName, "write failed");
  }

  void restore(const Weights& weights) {
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < params_.size(); ++k) params_[k].copy_(weights.at(names_[k]));
  }

  // ---- checkpoints ----

  Weights current_weights() const {
    Weights weights;
    for (size_t k = 0; k < params_.size(); ++k) weights[names_[k]] = params_[k].detach();
    return weights;
  }

  // Written into checkpoint.tmp, then swapped in whole: a kill at any moment leaves one
  // complete checkpoint (checkpoint, or checkpoint.old during the swap). Rank 0 writes; the
  // others wait, so that no rank runs ahead of the last checkpoint.
  void save_checkpoint() {
    if (is_main()) write_checkpoint();
    barrier();
  }

  void write_checkpoint() {
    const fs::path dir(dir_), tmp = dir / "checkpoint.tmp", old = dir / "checkpoint.old";
    fs::remove_all(tmp);
    make_dirs(tmp.string());
    write_safetensors((tmp / "weights.safetensors").string(), current_weights());
    if (!best_.empty()) write_safetensors((tmp / "best.safetensors").string(), best_);
    {
      torch::serialize::OutputArchive archive;
      optimizer_->save(archive);
      AtomicFile file((tmp / "optimizer.pt").string(), true);
      archive.save_to(file.stream());
      file.stream().flush();
      if (!file.stream()) throw file_error(file.temp_path(), "write failed");
      file.commit();
    }
    const json state = {
        {"seed", o_.seed},
        {"step", step_},
        {"epoch", epoch_},
        {"position", position_},
        {"steps_per_epoch", steps_per_epoch_},
        {"ranks", world()},
        {"best_score", best_score_},
        {"best_epoch", best_epoch_},
        {"best_details", best_details_},
        {"bad_validations", bad_validations_},
        {"validations", validations_},
        {"plateau", plateau_.state()},
        {"lr", lr_},
        {"window",
         {window_loss_, window_weight_, window_seconds_, static_cast<double>(window_examples_),
          static_cast<double>(window_tokens_)}},
        {"epoch_seconds", epoch_seconds_},
        {"epoch_seconds_now", epoch_seconds_now_},
        {"validation_seconds", validation_seconds_},
        {"peak_rss_mib", run_peak_rss_mib()},
        {"log", log_}};
    write_file_atomic((tmp / "state.json").string(), state.dump() + "\n");
    fs::remove_all(old);
    if (fs::exists(dir / "checkpoint")) fs::rename(dir / "checkpoint", old);
    fs::rename(tmp, dir / "checkpoint");
    fs::remove_all(old);
  }

  void load_checkpoint() {
    const fs::path dir = checkpoint_dir(dir_);
    if (dir.empty()) throw file_error(dir_, "no checkpoint to resume from (checkpoint/state.json)");
    const std::string state_path = (dir / "state.json").string();
    const json state = read_json_file(state_path);
    int64_t saved_steps_per_epoch = 0, saved_ranks = 1;
    try {
      step_ = state.at("step").get<int64_t>();
      epoch_ = state.at("epoch").get<int64_t>();
      position_ = state.at("position").get<int64_t>();
      saved_steps_per_epoch = state.at("steps_per_epoch").get<int64_t>();
      saved_ranks = state.value("ranks", int64_t{1});  // checkpoints before data parallelism
      best_score_ = state.at("best_score").get<double>();
      best_epoch_ = state.at("best_epoch").get<int64_t>();
      best_details_ = state.at("best_details");
      bad_validations_ = state.at("bad_validations").get<int64_t>();
      validations_ = state.at("validations").get<int64_t>();
      lr_ = state.at("lr").get<double>();
      const auto& window = state.at("window");
      window_loss_ = window.at(0).get<double>();
      window_weight_ = window.at(1).get<double>();
      window_seconds_ = window.at(2).get<double>();
      window_examples_ = static_cast<int64_t>(window.at(3).get<double>());
      window_tokens_ = window.size() > 4 ? static_cast<int64_t>(window.at(4).get<double>()) : 0;
      epoch_seconds_ = state.at("epoch_seconds").get<std::vector<double>>();
      epoch_seconds_now_ = state.at("epoch_seconds_now").get<double>();
      validation_seconds_ = state.at("validation_seconds").get<double>();
      peak_rss_mib_before_ = state.value("peak_rss_mib", 0.0);  // older checkpoints: none
      log_ = state.at("log");
    } catch (const json::exception&) {
      throw file_error(state_path, "checkpoint state is damaged");
    }
    plateau_.load_state(state.at("plateau"), state_path);
    if (saved_steps_per_epoch != steps_per_epoch_)
      throw file_error(state_path, "checkpoint does not match the data (" +
                                       std::to_string(saved_steps_per_epoch) +
                                       " steps per epoch then, " +
                                       std::to_string(steps_per_epoch_) + " now)");
    // Each rank's share and seeds depend on the world size: only the same one resumes exactly.
    if (saved_ranks != world())
      throw file_error(state_path, "checkpoint was written by " + std::to_string(saved_ranks) +
                                       " process(es); resume it with --nproc " +
                                       std::to_string(saved_ranks) + ", not " +
                                       std::to_string(world()));
    const std::string weights_path = (dir / "weights.safetensors").string();
    const Weights weights = load_weights(weights_path);
    for (size_t k = 0; k < params_.size(); ++k) {
      const auto found = weights.find(names_[k]);
      if (found == weights.end() || !found->second.sizes().equals(params_[k].sizes()))
        throw file_error(weights_path, "tensor " + names_[k] + " is missing or has another shape");
    }
    restore(weights);
    if (fs::exists(dir / "best.safetensors"))
      best_ = load_weights((dir / "best.safetensors").string());
    const std::string optimizer_path = (dir / "optimizer.pt").string();
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(optimizer_path, params_.front().device());
      optimizer_->load(archive);
    } catch (const c10::Error&) {
      throw file_error(optimizer_path, "not a readable optimizer state of this model");
    }
    // Lines logged after the checkpoint by the killed run are dropped.
    if (is_main()) {
      std::string text;
      for (const auto& line : log_) text += line.dump() + "\n";
      write_file_atomic(dir_ + "/" + kLogName, text);
    }
    // Every rank has read the checkpoint before rank 0 replaces it.
    barrier();
    log::info("%s: resuming %s at step %lld (epoch %lld, step %lld of %lld)", o_.name.c_str(),
              dir_.c_str(), static_cast<long long>(step_), static_cast<long long>(epoch_ + 1),
              static_cast<long long>(position_), static_cast<long long>(steps_per_epoch_));
  }

  torch::nn::Module& model_;
  TrainingTask& task_;
  TrainingLoopOptions o_;
  std::string dir_;
  DataParallel* dp_;  // nullptr: one process
  std::vector<std::string> names_;
  std::vector<torch::Tensor> params_;  // [P], trainable, in name order
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t micro_batches_ = 0, steps_per_epoch_ = 0;
  LrSchedule schedule_;
  PlateauSchedule plateau_;
  // Progress, saved in every checkpoint.
  int64_t step_ = 0;      // optimizer steps done
  int64_t epoch_ = 0;     // epochs finished
  int64_t position_ = 0;  // steps done in the current epoch
  double best_score_ = 0;
  int64_t best_epoch_ = -1;
  json best_details_ = json::object();
  int64_t bad_validations_ = 0;
  int64_t validations_ = 0;
  double lr_ = 0;
  double grad_norm_ = 0;  // of the last step, before clipping
  double window_loss_ = 0, window_weight_ = 0, window_seconds_ = 0;  // since the last log line
  int64_t window_examples_ = 0, window_tokens_ = 0;
  std::vector<double> epoch_seconds_;
  double epoch_seconds_now_ = 0;
  double validation_seconds_ = 0;
  double peak_rss_mib_before_ = 0;  // the processes before a resume, from the checkpoint
  Weights best_;                    // CPU
  json log_ = json::array();
};

}  // namespace

TrainingResult run_training(torch::nn::Module& model, TrainingTask& task,
                            const TrainingLoopOptions& options, const std::string& run_dir,
                            bool resume, DataParallel* parallel) {
  TrainingRun run(model, task, options, run_dir, parallel);
  return run.run(resume);
}

uint64_t checkpoint_seed(const std::string& run_dir, uint64_t fallback) {
  const std::string dir = checkpoint_dir(run_dir);
  if (dir.empty()) return fallback;
  return read_json_file(dir + "/state.json").value("seed", fallback);
}

std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(size);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed_mix(seed, epoch)));
  return order;
}

}  // namespace gavamoe
