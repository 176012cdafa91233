// SASRec and MF training tasks on the shared loop (rec_trainer.hpp).
// Shapes: B samples, M items, D width, K negatives.
#include "gavamoe/rec/rec_trainer.hpp"

#include <filesystem>
#include <numeric>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/model/memory_estimate.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/rec/full_ranking.hpp"
#include "gavamoe/rec/matrix_factorization.hpp"
#include "gavamoe/rec/negative_sampler.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/rec/sasrec.hpp"
#include "gavamoe/rec/sequence_check.hpp"
#include "gavamoe/train/data_parallel.hpp"
#include "gavamoe/train/device.hpp"
#include "gavamoe/train/training_loop.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kKeyMetric = "ndcg@10";

class RecTask : public TrainingTask {
 public:
  RecTask(Recommender& model, const SequenceDataset& data, const LeaveOneOutSplit& split,
          const RecTrainOptions& options, torch::Device device)
      : model_(model), data_(data), split_(split), o_(options), device_(device) {
    if (o_.model == "mf") {
      std::vector<std::vector<int64_t>> excluded(data.sequences.size());
      for (size_t u = 0; u < data.sequences.size(); ++u) {
        const auto& sequence = data.sequences[u];
        const int64_t known = split.mode == HoldoutMode::original
                                  ? static_cast<int64_t>(sequence.size())
                                  : split.training_part[u];
        excluded[u].assign(sequence.begin(), sequence.begin() + known);
      }
      sampler_ =
          std::make_unique<NegativeSampler>(data.n_items(), o_.negatives, std::move(excluded));
    }
  }

  int64_t size() const override { return static_cast<int64_t>(split_.train.size()); }

  torch::Tensor loss(const std::vector<int64_t>& examples, uint64_t seed) override {
    std::vector<SequenceTarget> targets;
    std::vector<int64_t> users, positives;
    for (int64_t e : examples) {
      const SequenceTarget& t = split_.train[e];
      targets.push_back(t);
      users.push_back(t.user);
      positives.push_back(data_.sequences[t.user][t.position]);
    }
    const auto batch =
        make_user_batch(data_, targets, 0, targets.size(), model_.history_length(), device_);
    const auto user = model_.user_vectors(batch);  // [B, D]
    if (!sampler_) {
      const auto scores = user.matmul(model_.item_vectors().t());  // [B, M]
      const auto target = torch::tensor(positives, torch::kLong).to(device_).view({-1, 1});
      return (torch::logsumexp(scores, 1) - scores.gather(1, target).squeeze(1)).sum();
    }
    Rng rng(seed);
    const auto groups = sampler_->groups(users, positives, rng).to(device_);  // [B, 1 + K]
    // Each user is scored against the U distinct items of the whole batch's groups in one
    // [B, D] x [D, U] product, and its own group is gathered from that: the same values and
    // gradients as scoring a [B, 1 + K, D] gather item by item, without its B matrix-vector
    // products and its large temporary (U <= min(M, B (1 + K))).
    const auto [unique, inverse] =
        torch::_unique(groups.flatten(), /*sorted=*/true, /*return_inverse=*/true);
    const auto scores = user.matmul(model_.item_vectors(unique).t())  // [B, U]
                            .gather(1, inverse.view_as(groups));      // [B, 1 + K]
    return -torch::log_softmax(scores, 1).select(1, 0).sum();
  }

  Validation validate() override {
    const RankingMetrics metrics =
        evaluate_recommender(model_, data_, split_.validation, o_.eval_batch_size);
    Validation v;
    v.details = metrics.means();
    v.score = v.details.at(kKeyMetric).get<double>();
    return v;
  }

 private:
  Recommender& model_;
  const SequenceDataset& data_;
  const LeaveOneOutSplit& split_;
  const RecTrainOptions& o_;
  torch::Device device_;
  std::unique_ptr<NegativeSampler> sampler_;
};

json run_info(const SequenceDataset& data, const RecTrainOptions& o) {
  json info = {{"format", "gavamoe-rec"},
               {"model", o.model},
               {"data", fs::absolute(data.path).lexically_normal().string()},
               {"split", holdout_name(o.split)},
               {"n_users", data.n_users()},
               {"n_items", data.n_items()},
               {"users", data.users.size()}};
  if (o.model == "sasrec") {
    SasrecOptions s = o.sasrec;
    s.n_items = data.n_items();
    info["sasrec"] = s.to_json();
  } else {
    MfOptions m = o.mf;
    m.n_users = data.n_users();
    m.n_items = data.n_items();
    info["mf"] = m.to_json();
  }
  return info;
}

// The float32 weights with their gradients and AdamW moments, and the [B, M] scores of a
// training batch (SASRec's full softmax, with its gradient) or of an evaluation batch.
MemoryEstimate training_memory(const json& info, const RecTrainOptions& o,
                               const std::string& origin) {
  double parameters = 0;
  if (o.model == "sasrec") {
    const auto options = SasrecOptions::from_json(json_value<json>(info, "sasrec", origin), origin);
    options.check();
    parameters = static_cast<double>(options.num_parameters());
  } else {
    const auto options = MfOptions::from_json(json_value<json>(info, "mf", origin), origin);
    options.check();
    parameters = static_cast<double>(options.num_parameters());
  }
  const double items = static_cast<double>(json_value<int64_t>(info, "n_items", origin));
  const double train_scores =
      o.model == "sasrec" ? 3 * static_cast<double>(o.batch_size) * items : 0;
  const double eval_scores = 2 * static_cast<double>(o.eval_batch_size) * items;
  MemoryEstimate need;
  need.weights = parameters * 4;
  need.training = adamw_state_bytes(parameters);
  need.work = std::max(train_scores, eval_scores) * 4;
  return need;
}

json train(const SequenceDataset& data, const RecTrainOptions& o, const std::string& run_dir,
           bool resume, DataParallel* parallel) {
  const bool is_main = !parallel || parallel->is_main();
  const std::string info_path = run_dir + "/" + kRecRunFile;
  json info;
  if (resume) {
    if (!fs::exists(info_path)) throw file_error(run_dir, "not a rec train run (no rec.json)");
    info = read_json_file(info_path);
    if (info.value("n_items", int64_t{0}) != data.n_items() ||
        info.value("n_users", int64_t{0}) != data.n_users())
      throw file_error(data.path, "does not match the data the run " + run_dir + " started on");
    if (info.value("model", "") != o.model)
      throw file_error(info_path,
                       "is a " + info.value("model", std::string("?")) + " run, not " + o.model);
  } else {
    info = run_info(data, o);
    warn_about_data(data.path, check_sequences(data));
  }
  const LeaveOneOutSplit split = leave_one_out(data, o.split);
  if (split.skipped_users > 0)
    log::warn("rec train: %lld user(s) with a single item have no target and are skipped",
              static_cast<long long>(split.skipped_users));
  if (split.validation.empty()) throw file_error(data.path, "no user has a validation target");
  const torch::Device device =
      parallel ? parallel->device() : resolve_device(o.device, "rec.device");
  require_memory("rec train: " + o.model + " on " + data.path, training_memory(info, o, info_path),
                 device);
  torch::manual_seed(o.seed);
  RecommenderPtr model = make_recommender(info, info_path);
  init_recommender(*model, o.init_std);
  model->to(device);
  if (!resume && is_main) {
    make_dirs(run_dir);
    write_file_atomic(info_path, info.dump(2) + "\n");
  }
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  log::info(
      "rec train: %s, %lld parameters, %zu training samples, %zu validation users, %zu "
      "test users, split %s, device %s",
      o.model.c_str(), static_cast<long long>(parameters), split.train.size(),
      split.validation.size(), split.test.size(), holdout_name(o.split), device.str().c_str());

  RecTask task(*model, data, split, o, device);
  TrainingLoopOptions loop;
  loop.name = "rec train " + o.model;
  loop.metric = kKeyMetric;
  loop.epochs = o.epochs;
  loop.batch_size = o.batch_size;
  loop.lr = o.lr;
  loop.weight_decay = o.weight_decay;
  loop.plateau = o.plateau;
  loop.grad_clip = o.grad_clip;
  loop.patience = o.patience;
  loop.validate_first = o.validate_first;
  loop.log_every = o.log_every;
  loop.checkpoint_every = o.checkpoint_every;
  loop.seed = o.seed;
  loop.stop_after_steps = o.stop_after_steps;
  const TrainingResult result = run_training(*model, task, loop, run_dir, resume, parallel);
  if (result.stopped) return {{"stopped", true}};

  std::map<std::string, torch::Tensor> weights;
  for (const auto& item : model->named_parameters(/*recurse=*/true))
    weights[item.key()] = item.value().detach();
  if (is_main)
    write_safetensors(run_dir + "/" + kRecModelFile, weights, {{"format", "gavamoe-rec"}});
  const double train_seconds =
      std::accumulate(result.epoch_seconds.begin(), result.epoch_seconds.end(), 0.0);
  const json metrics = {
      {"model", o.model},
      {"split", holdout_name(o.split)},
      {"best_epoch", result.best_epoch},
      {"validation", result.best_details},
      {"epochs_run", result.epochs_run},
      {"steps", result.steps},
      {"early_stopped", result.early_stopped},
      {"epoch_seconds", result.epoch_seconds},
      {"seconds_per_epoch",
       result.epoch_seconds.empty() ? json() : json(train_seconds / result.epoch_seconds.size())},
      {"train_seconds", train_seconds},
      {"validation_seconds", result.validation_seconds},
      {"peak_rss_mib", result.peak_rss_mib},
      {"parameters", parameters},
      {"samples",
       {{"train", split.train.size()},
        {"validation", split.validation.size()},
        {"test", split.test.size()}}},
      {"skipped_users", split.skipped_users},
      {"device", device.str()},
      {"ranks", parallel ? parallel->world_size() : 1},
      {"seed", o.seed}};
  if (is_main) write_file_atomic(run_dir + "/metrics.json", metrics.dump(2) + "\n");
  return metrics;
}

}  // namespace

RecTrainOptions RecTrainOptions::from_config(const RunConfig& config, const std::string& model,
                                             uint64_t seed) {
  auto rec = [&config](const std::string& key) -> const json& { return config.at("rec." + key); };
  RecTrainOptions o;
  o.model = model.empty() ? rec("model").get<std::string>() : model;
  if (o.model != "sasrec" && o.model != "mf")
    throw Error("rec train: the model must be sasrec or mf, got \"" + o.model + "\"");
  o.split = parse_holdout_mode(rec("split").get<std::string>(), "rec.split");
  o.epochs = rec("epochs").get<int64_t>();
  o.patience = rec("patience").get<int64_t>();
  o.validate_first = rec("validate_first").get<bool>();
  o.plateau.factor = rec("plateau_factor").get<double>();
  o.plateau.patience = rec("plateau_patience").get<int64_t>();
  o.plateau.threshold = rec("plateau_threshold").get<double>();
  o.weight_decay = rec("weight_decay").get<double>();
  o.init_std = rec("init_std").get<double>();
  o.eval_batch_size = rec("eval_batch_size").get<int64_t>();
  o.log_every = rec("log_every").get<int64_t>();
  o.checkpoint_every = rec("checkpoint_every").get<int64_t>();
  o.device = rec("device").get<std::string>();
  o.sasrec.dim = rec("sasrec_dim").get<int64_t>();
  o.sasrec.layers = rec("sasrec_layers").get<int64_t>();
  o.sasrec.heads = rec("sasrec_heads").get<int64_t>();
  o.sasrec.ffn = rec("sasrec_ffn").get<int64_t>();
  o.sasrec.max_history = rec("sasrec_max_history").get<int64_t>();
  o.sasrec.hidden_dropout = rec("sasrec_hidden_dropout").get<double>();
  o.sasrec.attn_dropout = rec("sasrec_attn_dropout").get<double>();
  o.sasrec.layer_norm_eps = rec("sasrec_layer_norm_eps").get<double>();
  o.mf.dim = rec("mf_dim").get<int64_t>();
  o.negatives = rec("mf_negatives").get<int64_t>();
  const std::string prefix = o.model + "_";
  o.lr = rec(prefix + "lr").get<double>();
  o.batch_size = rec(prefix + "batch_size").get<int64_t>();
  o.grad_clip = rec(prefix + "grad_clip").get<double>();
  if (o.eval_batch_size < 1) throw Error("config key 'rec.eval_batch_size' must be at least 1");
  o.seed = seed;
  return o;
}

void check_recommender_run(const SequenceDataset& data, const RecTrainOptions& options) {
  resolve_device(options.device, "rec.device");
  if (leave_one_out(data, options.split).validation.empty())
    throw file_error(data.path, "no user has a validation target");
  require_memory("rec train: " + options.model + " on " + data.path,
                 training_memory(run_info(data, options), options, "rec." + options.model),
                 resolve_device(options.device, "rec.device"));
}

json train_recommender(const SequenceDataset& data, const RecTrainOptions& options,
                       const std::string& run_dir, DataParallel* parallel) {
  return train(data, options, run_dir, false, parallel);
}

json resume_recommender(const SequenceDataset& data, const RecTrainOptions& options,
                        const std::string& run_dir, DataParallel* parallel) {
  RecTrainOptions effective = options;
  effective.seed = checkpoint_seed(run_dir, options.seed);
  return train(data, effective, run_dir, true, parallel);
}

}  // namespace gavamoe
