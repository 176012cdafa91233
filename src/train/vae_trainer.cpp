// pretrain-vae: stage A, GMM initialisation, stage B, checkpoints and outputs (vae_trainer.hpp).
//
// Shapes: N records, B batch, D latent width, K clusters, C = 5 rating classes.
#include "gavamoe/train/vae_trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/model/archive_file.hpp"
#include "gavamoe/plot/svg.hpp"
#include "gavamoe/train/device.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;
constexpr int64_t kEvalBatch = 8192;
constexpr int64_t kMaxPlotPoints = 4000;
constexpr double kBiasRegularisation = 10.0;  // user_item_bias baseline, as in Koren (2008)
constexpr int kBiasSweeps = 10;
constexpr const char* kCheckpointName = "checkpoint.pt";
constexpr double kReseedSpread = 0.1;  // a reseeded mean: mu_b + this * sigma_b * noise
// Noise streams of the cluster diagnostics and the reseeding, apart from the training draws.
constexpr uint64_t kDiagnosticsStream = 0xd1a6ULL, kReseedStream = 0x5eedc0ULL;

template <typename T>
T config_value(const json& section, const std::string& key) {
  try {
    return section.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error("config key 'vae." + key + "' is missing or has the wrong type");
  }
}

// Everything the final report needs, per record.
struct RecordOutputs {
  torch::Tensor ce;        // [N] cross-entropy of decode(mu)
  torch::Tensor expected;  // [N] expected rating sum_c p_c (c + 1)
  torch::Tensor correct;   // [N] argmax class == true class
  torch::Tensor cluster;   // [N] int64
  torch::Tensor gamma;     // [N, K] float64
  torch::Tensor mu;        // [N, D]
};

struct RatingMetrics {
  double ce = 0, accuracy = 0, rmse = 0, mae = 0;
};

std::vector<double> shares_of(const std::vector<int64_t>& labels, int64_t k) {
  std::vector<double> shares(k, 0.0);
  for (int64_t c : labels) shares[c] += 1.0;
  for (double& share : shares) share /= std::max<size_t>(labels.size(), 1);
  return shares;
}

std::string joined_shares(const std::vector<double>& shares) {
  std::string text;
  for (size_t c = 0; c < shares.size(); ++c) text += log::format(c ? "/%.3f" : "%.3f", shares[c]);
  return text;
}

at::Generator seeded_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

class VaeRun {
 public:
  VaeRun(const Dataset& data, const VaeTrainOptions& options, std::string run_dir)
      : data_(data),
        o_(options),
        dir_(std::move(run_dir)),
        device_(resolve_device(options.device, "vae.device")) {
    o_.model.n_users = data.users.size();
    o_.model.n_items = data.items.size();
    prepare_records();
  }

  json run(bool resume) {
    torch::manual_seed(o_.seed);
    model_ = VaeGmm(o_.model);
    model_->to(device_);
    if (resume) load_checkpoint();
    if (stage_ == "A") stage_a();
    if (stage_ == "gmm") fit_prior();
    if (stage_ == "B") stage_b();
    return write_outputs();
  }

 private:
  void prepare_records() {
    const int64_t n = static_cast<int64_t>(data_.records.size());
    std::vector<int64_t> classes(n);
    for (int64_t r = 0; r < n; ++r) {
      const double rating = data_.records[r].rating;
      if (!(rating >= 1 && rating <= 5))
        throw file_error(data_.path, "record " + std::to_string(r),
                         "rating " + std::to_string(rating) + " is outside 1..5");
      classes[r] = std::llround(rating) - 1;
    }
    users_ = torch::tensor(data_.user_of, torch::kLong).to(device_);
    items_ = torch::tensor(data_.item_of, torch::kLong).to(device_);
    classes_ = torch::tensor(classes, torch::kLong).to(device_);

    train_ = data_.subset(o_.train_subset);
    if (train_.empty())
      throw Error(data_.path + ": the " + subset_name(o_.train_subset) +
                  " subset is empty (vae.train_subset)");
    const auto& validation = data_.subset(Subset::validation);
    if (validation.empty() || o_.train_subset == Subset::validation) {
      // Hold out a seeded share of the training records for early stopping.
      std::vector<int64_t> shuffled = train_;
      std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(o_.seed ^ 0x5eedULL));
      const auto held = static_cast<size_t>(
          std::max<double>(1.0, std::floor(o_.holdout_fraction * shuffled.size())));
      if (held >= shuffled.size())
        throw Error(data_.path + ": too few training records to hold out an early-stopping set");
      stop_.assign(shuffled.begin(), shuffled.begin() + held);
      train_.assign(shuffled.begin() + held, shuffled.end());
      std::sort(stop_.begin(), stop_.end());
      std::sort(train_.begin(), train_.end());
      stop_name_ = "holdout of " + std::string(subset_name(o_.train_subset));
    } else {
      stop_ = validation;
      stop_name_ = "validation";
    }
    // The GMM fits one component per cluster to the training records' latents.
    if (o_.model.clusters > static_cast<int64_t>(train_.size()))
      throw Error("config key 'vae.clusters' (" + std::to_string(o_.model.clusters) +
                  ") is more than the " + std::to_string(train_.size()) + " training records of " +
                  data_.path);
    std::vector<int64_t> user_seen(data_.users.size(), 0), item_seen(data_.items.size(), 0);
    for (int64_t r : train_) {
      user_seen[data_.user_of[r]] = 1;
      item_seen[data_.item_of[r]] = 1;
    }
    trained_users_ = torch::tensor(user_seen, torch::kLong).to(torch::kBool);
    trained_items_ = torch::tensor(item_seen, torch::kLong).to(torch::kBool);
    log::info(
        "pretrain-vae: %zu training records (%s), %zu early-stopping records (%s), "
        "%lld users, %lld items, device %s",
        train_.size(), subset_name(o_.train_subset), stop_.size(), stop_name_.c_str(),
        static_cast<long long>(data_.users.size()), static_cast<long long>(data_.items.size()),
        device_.str().c_str());
  }

  // Reseeds torch and returns the epoch's shuffled training positions: epochs do not depend
  // on one another's random draws, which is what makes resuming exact.
  torch::Tensor epoch_order(int stage, int64_t epoch) {
    const uint64_t epoch_seed = o_.seed * 1000003ULL + stage * 10007ULL + epoch;
    torch::manual_seed(epoch_seed);
    std::vector<int64_t> order = train_;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(epoch_seed));
    return torch::tensor(order, torch::kLong).to(device_);
  }

  // One pass over the training records; returns the mean loss and the records/s.
  template <typename LossFn>
  std::pair<double, double> train_epoch(torch::optim::Optimizer& optimizer, int stage,
                                        int64_t epoch, int64_t batch_size, LossFn loss_fn,
                                        const std::function<void()>& after_step = {}) {
    model_->train();
    const auto order = epoch_order(stage, epoch);
    const int64_t n = order.size(0);
    const auto start = std::chrono::steady_clock::now();
    auto total = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device_));
    Progress progress(log::format("stage %s epoch %lld", stage == 0 ? "A" : "B",
                                  static_cast<long long>(epoch + 1)),
                      n, "records");
    for (int64_t begin = 0; begin < n; begin += batch_size) {
      const int64_t end = std::min(n, begin + batch_size);
      const auto index = order.slice(0, begin, end);
      optimizer.zero_grad();
      const auto loss = loss_fn(users_.index_select(0, index), items_.index_select(0, index),
                                classes_.index_select(0, index));
      loss.backward();
      optimizer.step();
      if (after_step) after_step();
      total += loss.detach().to(torch::kDouble) * index.size(0);
      // The running mean is read (a device sync) only when the progress line is printed.
      progress.update(end, progress.due() ? total.item<double>() / end : -1.0);
    }
    progress.finish();
    model_->fill_untrained_rows(trained_users_, trained_items_);
    const double mean = total.item<double>() / n;
    if (!std::isfinite(mean))
      throw Error("pretrain-vae: the training loss is not finite (try a smaller learning rate)");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {mean, n / std::max(seconds, 1e-9)};
  }

  // Mean loss on `positions` in eval mode at z = mu: cross-entropy, or the stage-B loss.
  double evaluation_loss(const std::vector<int64_t>& positions, double kl_weight) {
    torch::NoGradGuard no_grad;
    model_->eval();
    const auto index_all = torch::tensor(positions, torch::kLong).to(device_);
    const int64_t n = index_all.size(0);
    double total = 0;
    for (int64_t begin = 0; begin < n; begin += kEvalBatch) {
      const auto index = index_all.slice(0, begin, std::min(n, begin + kEvalBatch));
      const auto loss =
          model_->vade_loss(users_.index_select(0, index), items_.index_select(0, index),
                            classes_.index_select(0, index), kl_weight, vade_terms());
      total += (kl_weight > 0 ? loss.total : loss.reconstruction).item<double>() * index.size(0);
    }
    return total / n;
  }

  VadeTerms vade_terms() const { return {o_.reconstruction_weight(), o_.balance_weight}; }

  void record_epoch(const char* stage, int64_t epoch, double train_loss, double val_loss,
                    double records_per_s, const json& clusters = nullptr) {
    epochs_.push_back({{"stage", stage},
                       {"epoch", epoch + 1},
                       {"train_loss", train_loss},
                       {"val_loss", val_loss}});
    if (!clusters.is_null()) epochs_.back()["clusters"] = clusters;
    log::info("stage %s epoch %lld: train loss %.5f, %s loss %.5f, %.0f records/s", stage,
              static_cast<long long>(epoch + 1), train_loss, stop_name_.c_str(), val_loss,
              records_per_s);
    write_vae_log();
  }

  // Positions' cluster at mu, in eval mode, [positions] int64 on the CPU.
  std::vector<int64_t> clusters_at_mu(const std::vector<int64_t>& positions) {
    torch::NoGradGuard no_grad;
    model_->eval();
    const auto index = torch::tensor(positions, torch::kLong).to(device_);
    std::vector<torch::Tensor> parts;
    for (int64_t begin = 0; begin < index.size(0); begin += kEvalBatch) {
      const auto part = index.slice(0, begin, std::min(index.size(0), begin + kEvalBatch));
      parts.push_back(model_->assign(
          model_->encode(users_.index_select(0, part), items_.index_select(0, part)).mu));
    }
    const auto all = torch::cat(parts).to(torch::kCPU).contiguous();
    return std::vector<int64_t>(all.data_ptr<int64_t>(), all.data_ptr<int64_t>() + all.numel());
  }

  // On the training records, in eval mode: cluster shares at mu and at one sampled z (seeded
  // by `draw`) and how often the two agree, mean encoder variance exp(logvar), median and
  // smallest prior variance, mean entropy of gamma(mu), KL(mean gamma(mu) || uniform),
  // exp(H(shares at mu)) and the ARI with the EM partition (null for a run resumed from a
  // checkpoint written before the partition was kept). `shares` gets the shares at mu.
  json cluster_diagnostics(uint64_t draw, std::vector<double>* shares = nullptr) {
    torch::NoGradGuard no_grad;
    model_->eval();
    const int64_t k = o_.model.clusters;
    const auto index = torch::tensor(train_, torch::kLong).to(device_);
    auto generator = seeded_generator(draw);
    std::vector<torch::Tensor> at_mu_parts, at_z_parts;
    auto options = torch::TensorOptions().dtype(torch::kDouble).device(device_);
    auto gamma_sum = torch::zeros({k}, options), entropy_sum = torch::zeros({}, options),
         variance_sum = torch::zeros({}, options);
    for (int64_t begin = 0; begin < index.size(0); begin += kEvalBatch) {
      const auto part = index.slice(0, begin, std::min(index.size(0), begin + kEvalBatch));
      const auto enc = model_->encode(users_.index_select(0, part), items_.index_select(0, part));
      const auto noise = torch::randn(enc.mu.sizes(), generator, torch::kFloat).to(device_);
      const auto z = enc.mu + noise * (0.5 * enc.logvar).exp();
      const auto log_gamma =
          torch::log_softmax(model_->log_prior_joint(enc.mu), 1).to(torch::kDouble);
      at_mu_parts.push_back(log_gamma.argmax(1));
      at_z_parts.push_back(model_->log_prior_joint(z).argmax(1));
      gamma_sum += log_gamma.exp().sum(0);
      entropy_sum -= (log_gamma.exp() * log_gamma).nan_to_num(0.0).sum();
      variance_sum += enc.logvar.exp().to(torch::kDouble).mean(1).sum();
    }
    auto labels = [](std::vector<torch::Tensor>& parts) {
      const auto all = torch::cat(parts).to(torch::kCPU).contiguous();
      return std::vector<int64_t>(all.data_ptr<int64_t>(), all.data_ptr<int64_t>() + all.numel());
    };
    const auto at_mu = labels(at_mu_parts), at_z = labels(at_z_parts);
    const double n = static_cast<double>(at_mu.size());
    int64_t agree = 0;
    for (size_t r = 0; r < at_mu.size(); ++r) agree += at_mu[r] == at_z[r];
    const auto mean_gamma = (gamma_sum / n).cpu();
    double balance = 0;
    for (int64_t c = 0; c < k; ++c) {
      const double g = mean_gamma[c].item<double>();
      if (g > 0) balance += g * std::log(k * g);
    }
    const auto prior_variances = model_->prior_log_variances.detach().exp().flatten().cpu();
    const auto mu_shares = shares_of(at_mu, k);
    std::vector<int64_t> mu_sizes(k, 0);
    for (int64_t c : at_mu) ++mu_sizes[c];
    std::vector<int64_t> em_train;
    if (!em_clusters_.empty())
      for (int64_t r : train_) em_train.push_back(em_clusters_[r]);
    json j = {{"shares_mu", mu_shares},
              {"shares_z", shares_of(at_z, k)},
              {"agreement_z_mu", agree / n},
              {"ari_em",
               em_clusters_.empty() ? json(nullptr) : json(adjusted_rand_index(em_train, at_mu))},
              {"effective_clusters", effective_clusters(mu_sizes)},
              {"encoder_variance", variance_sum.item<double>() / n},
              {"prior_variance_median", prior_variances.median().item<double>()},
              {"prior_variance_min", prior_variances.min().item<double>()},
              {"gamma_entropy", entropy_sum.item<double>() / n},
              {"balance_kl", balance}};
    if (shares) *shares = mu_shares;
    return j;
  }

  static void log_diagnostics(const std::string& when, const json& d) {
    log::info(
        "%s: shares at mu %s, at z %s, agreement %.3f, ARI with EM %.3f, encoder variance %.3g, "
        "prior variance median %.3g min %.3g, H(gamma) %.3f, KL(mean gamma || uniform) %.4f",
        when.c_str(), joined_shares(d.at("shares_mu").get<std::vector<double>>()).c_str(),
        joined_shares(d.at("shares_z").get<std::vector<double>>()).c_str(),
        d.at("agreement_z_mu").get<double>(),
        d.at("ari_em").is_null() ? std::nan("") : d.at("ari_em").get<double>(),
        d.at("encoder_variance").get<double>(), d.at("prior_variance_median").get<double>(),
        d.at("prior_variance_min").get<double>(), d.at("gamma_entropy").get<double>(),
        d.at("balance_kl").get<double>());
  }

  // vae_log.jsonl: every stage-A epoch, the EM fit, stage B's start, every stage-B epoch.
  void write_vae_log() const {
    std::string text;
    bool em_written = false;
    auto write_em = [&] {
      if (em_written || gmm_info_.empty()) return;
      text += json{{"stage", "gmm"}, {"gmm", gmm_info_}}.dump() + "\n";
      if (!stage_b_start_.is_null())
        text += json{{"stage", "B"}, {"epoch", 0}, {"clusters", stage_b_start_}}.dump() + "\n";
      em_written = true;
    };
    for (const auto& e : epochs_) {
      if (e.at("stage") == "B") write_em();
      text += e.dump() + "\n";
    }
    write_em();
    write_file_atomic(dir_ + "/vae_log.jsonl", text);
  }

  void stage_a() {
    torch::optim::Adam optimizer(model_->parameters(), torch::optim::AdamOptions(o_.pretrain_lr));
    if (optimizer_state_) optimizer.load(*optimizer_state_);
    optimizer_state_.reset();
    for (; epoch_ < o_.pretrain_epochs && bad_epochs_ < o_.patience; ++epoch_) {
      const auto [train_loss, speed] =
          train_epoch(optimizer, 0, epoch_, o_.pretrain_batch_size,
                      [&](const auto& u, const auto& i, const auto& c) {
                        return model_->pretrain_loss(u, i, c);
                      });
      const double val_loss = evaluation_loss(stop_, 0.0);
      record_epoch("A", epoch_, train_loss, val_loss, speed);
      if (val_loss < best_loss_) {
        best_loss_ = val_loss;
        bad_epochs_ = 0;
        best_.clear();
        for (const auto& p : model_->parameters()) best_.push_back(p.detach().clone());
      } else {
        ++bad_epochs_;
      }
      save_checkpoint(&optimizer, epoch_ + 1);
    }
    if (bad_epochs_ >= o_.patience)
      log::info("stage A: early stop, best %s loss %.5f", stop_name_.c_str(), best_loss_);
    if (!best_.empty()) {
      torch::NoGradGuard no_grad;
      auto params = model_->parameters();
      for (size_t k = 0; k < params.size(); ++k) params[k].copy_(best_[k]);
    }
    stage_ = "gmm";
    epoch_ = 0;
  }

  void fit_prior() {
    torch::NoGradGuard no_grad;
    model_->eval();
    const auto index = torch::tensor(train_, torch::kLong).to(device_);
    std::vector<torch::Tensor> mus;
    for (int64_t begin = 0; begin < index.size(0); begin += kEvalBatch) {
      const auto part = index.slice(0, begin, std::min(index.size(0), begin + kEvalBatch));
      mus.push_back(model_->encode(users_.index_select(0, part), items_.index_select(0, part)).mu);
    }
    GaussianMixtureOptions gmm_options = o_.gmm;
    gmm_options.components = o_.model.clusters;
    gmm_options.seed = o_.seed;
    const auto train_mu = torch::cat(mus);
    const auto mixture = GaussianMixture::fit(train_mu, gmm_options);
    model_->set_prior(mixture);
    auto as_vector = [](const torch::Tensor& t) {
      const auto c = t.to(torch::kCPU, torch::kDouble).contiguous();
      return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    std::vector<int64_t> all(data_.records.size());
    std::iota(all.begin(), all.end(), 0);
    em_clusters_ = clusters_at_mu(all);
    std::vector<int64_t> em_train;
    for (int64_t r : train_) em_train.push_back(em_clusters_[r]);
    gmm_info_ = {{"iterations", mixture.iterations()},
                 {"converged", mixture.converged()},
                 {"weights", as_vector(mixture.weights())},
                 {"train_shares", shares_of(em_train, o_.model.clusters)},
                 {"latent_variance", as_vector(train_mu.to(torch::kDouble).var(0, false))}};
    log::info("GMM: %lld EM iterations, %s; training records per cluster at mu %s",
              static_cast<long long>(mixture.iterations()),
              mixture.converged() ? "converged" : "not converged (iteration limit)",
              joined_shares(gmm_info_.at("train_shares").get<std::vector<double>>()).c_str());
    stage_ = "B";
    epoch_ = 0;
    save_checkpoint(nullptr, 0);
  }

  // sigma2_cd >= variance_floor_rel * Var_d(mu of the training records at the EM fit).
  void apply_variance_floor() {
    if (o_.variance_floor_rel <= 0) return;
    torch::NoGradGuard no_grad;
    const auto floor =
        torch::tensor(gmm_info_.at("latent_variance").get<std::vector<double>>(), torch::kDouble) *
        o_.variance_floor_rel;
    auto& log_variances = model_->prior_log_variances;
    log_variances.copy_(
        torch::maximum(log_variances, floor.log().to(log_variances.options()).unsqueeze(0)));
  }

  // Stage B's starting point, set once after the EM fit (a resume at epoch 0 sets it again,
  // from the same checkpoint, to the same values).
  void start_stage_b() {
    start_logvar_head(*model_, o_.logvar_init, o_.logvar_kappa);
    if (!o_.learn_pi) {
      torch::NoGradGuard no_grad;
      model_->prior_logits.zero_();
    }
    apply_variance_floor();
    stage_b_start_ = cluster_diagnostics(diagnostics_draw(0));
    log_diagnostics("stage B start", stage_b_start_);
    write_vae_log();
  }

  uint64_t diagnostics_draw(int64_t epoch) const {
    return o_.seed * 1000003ULL + kDiagnosticsStream + epoch;
  }

  void stage_b() {
    if (epoch_ == 0) start_stage_b();
    // Two groups, so that the prior can learn at its own rate; pi drops out when fixed.
    std::vector<torch::Tensor> network, prior;
    for (const auto& item : model_->named_parameters()) {
      const bool is_prior = item.key().rfind("prior_", 0) == 0;
      if (item.key() == "prior_logits" && !o_.learn_pi) {
        item.value().set_requires_grad(false);
        continue;
      }
      (is_prior ? prior : network).push_back(item.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(network);
    groups.emplace_back(prior);
    torch::optim::Adam optimizer(groups, torch::optim::AdamOptions(o_.vade_lr));
    if (optimizer_state_) optimizer.load(*optimizer_state_);
    optimizer_state_.reset();
    for (; epoch_ < o_.vade_epochs; ++epoch_) {
      const double lr = o_.vade_learning_rate(epoch_);
      auto& param_groups = optimizer.param_groups();
      static_cast<torch::optim::AdamOptions&>(param_groups[0].options()).lr(lr);
      static_cast<torch::optim::AdamOptions&>(param_groups[1].options()).lr(lr * o_.prior_lr_scale);
      const double s = o_.kl_weight(epoch_);
      const auto terms = vade_terms();
      const auto [train_loss, speed] = train_epoch(
          optimizer, 1, epoch_, o_.vade_batch_size,
          [&](const auto& u, const auto& i, const auto& c) {
            return model_->vade_loss(u, i, c, s, terms).total;
          },
          [&] { apply_variance_floor(); });
      const double val_loss = evaluation_loss(stop_, s);
      std::vector<double> shares;
      json clusters = cluster_diagnostics(diagnostics_draw(epoch_ + 1), &shares);
      log_diagnostics(log::format("stage B epoch %lld", static_cast<long long>(epoch_ + 1)),
                      clusters);
      if (o_.reseed_min_share > 0) {
        const auto reseeded =
            reseed_small_components(*model_, shares, o_.reseed_min_share, optimizer,
                                    o_.seed * 1000003ULL + kReseedStream + epoch_);
        clusters["reseeded"] = reseeded;
        for (int64_t c : reseeded)
          log::info("stage B epoch %lld: cluster %lld held %.3f of the training records, reseeded",
                    static_cast<long long>(epoch_ + 1), static_cast<long long>(c), shares[c]);
      }
      record_epoch("B", epoch_, train_loss, val_loss, speed, clusters);
      save_checkpoint(&optimizer, epoch_ + 1);
    }
    stage_ = "done";
  }

  // checkpoint.pt: model and optimizer state, the best stage-A weights and a JSON "meta".
  void save_checkpoint(torch::optim::Optimizer* optimizer, int64_t epochs_done) {
    torch::serialize::OutputArchive archive, model_archive, best_archive, optimizer_archive;
    model_->save(model_archive);
    archive.write("model", model_archive);
    for (size_t k = 0; k < best_.size(); ++k) best_archive.write(std::to_string(k), best_[k]);
    archive.write("best", best_archive);
    if (optimizer) {
      optimizer->save(optimizer_archive);
      archive.write("optimizer", optimizer_archive);
    }
    if (!em_clusters_.empty()) archive.write("em_clusters", torch::tensor(em_clusters_));
    const json meta = {{"stage", stage_},
                       {"epoch", epochs_done},
                       {"best_loss", best_loss_},
                       {"bad_epochs", bad_epochs_},
                       {"epochs", epochs_},
                       {"gmm", gmm_info_},
                       {"stage_b_start", stage_b_start_},
                       {"seed", o_.seed},
                       {"has_optimizer", optimizer != nullptr},
                       {"has_em_clusters", !em_clusters_.empty()},
                       {"n_best", best_.size()}};
    archive.write("meta", c10::IValue(meta.dump()));
    save_archive(archive, dir_ + "/" + kCheckpointName);
  }

  void load_checkpoint() {
    const std::string path = dir_ + "/" + kCheckpointName;
    torch::serialize::InputArchive archive, model_archive, best_archive;
    json meta;
    try {
      archive.load_from(path, device_);
      c10::IValue meta_value;
      archive.read("meta", meta_value);
      meta = json::parse(meta_value.toStringRef());
      archive.read("model", model_archive);
      model_->load(model_archive);
      archive.read("best", best_archive);
      for (int64_t k = 0; k < meta.at("n_best").get<int64_t>(); ++k) {
        torch::Tensor t;
        best_archive.read(std::to_string(k), t);
        best_.push_back(t);
      }
      if (meta.at("has_optimizer").get<bool>()) {
        optimizer_state_ = std::make_unique<torch::serialize::InputArchive>();
        archive.read("optimizer", *optimizer_state_);
      }
      if (meta.value("has_em_clusters", false)) {
        torch::Tensor em;
        archive.read("em_clusters", em);
        em = em.to(torch::kCPU, torch::kLong).contiguous();
        em_clusters_.assign(em.data_ptr<int64_t>(), em.data_ptr<int64_t>() + em.numel());
      }
    } catch (const c10::Error&) {
      throw file_error(path, "not a readable checkpoint of this model");
    } catch (const json::exception&) {
      throw file_error(path, "checkpoint metadata is damaged");
    }
    stage_ = meta.at("stage").get<std::string>();
    epoch_ = meta.at("epoch").get<int64_t>();
    best_loss_ = meta.at("best_loss").is_number() ? meta.at("best_loss").get<double>()
                                                  : std::numeric_limits<double>::infinity();
    bad_epochs_ = meta.at("bad_epochs").get<int64_t>();
    epochs_ = meta.at("epochs");
    gmm_info_ = meta.at("gmm");
    stage_b_start_ = meta.value("stage_b_start", json());
    log::info("resuming %s: stage %s after epoch %lld", dir_.c_str(), stage_.c_str(),
              static_cast<long long>(epoch_));
  }

  RecordOutputs evaluate_all() {
    torch::NoGradGuard no_grad;
    model_->eval();
    const int64_t n = users_.size(0);
    std::vector<torch::Tensor> ce, expected, correct, cluster, gamma, mu;
    const auto rating_values =
        torch::arange(1, kRatingClasses + 1, users_.options().dtype(torch::kFloat));
    for (int64_t begin = 0; begin < n; begin += kEvalBatch) {
      const int64_t end = std::min(n, begin + kEvalBatch);
      const auto enc = model_->encode(users_.slice(0, begin, end), items_.slice(0, begin, end));
      const auto logits = model_->decode(enc.mu);
      const auto classes = classes_.slice(0, begin, end);
      ce.push_back(torch::nn::functional::cross_entropy(
          logits, classes,
          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone)));
      expected.push_back((torch::softmax(logits, 1) * rating_values).sum(1));
      correct.push_back(logits.argmax(1) == classes);
      cluster.push_back(model_->assign(enc.mu));
      gamma.push_back(model_->gamma(enc.mu));
      mu.push_back(enc.mu);
    }
    auto join = [](std::vector<torch::Tensor>& parts, torch::Dtype dtype) {
      return torch::cat(parts).to(torch::kCPU, dtype).contiguous();
    };
    return {join(ce, torch::kDouble),      join(expected, torch::kDouble),
            join(correct, torch::kDouble), join(cluster, torch::kLong),
            join(gamma, torch::kDouble),   join(mu, torch::kFloat)};
  }

  // Ratings of `positions`, and predictions from a per-record function.
  template <typename Predict>
  RatingMetrics rating_metrics(const std::vector<int64_t>& positions, Predict predict) const {
    RatingMetrics m;
    if (positions.empty()) return m;
    double se = 0, ae = 0;
    for (int64_t r : positions) {
      const double error = std::clamp(predict(r), 1.0, 5.0) - data_.records[r].rating;
      se += error * error;
      ae += std::abs(error);
    }
    m.rmse = std::sqrt(se / positions.size());
    m.mae = ae / positions.size();
    return m;
  }

  static json metrics_json(const RatingMetrics& m, bool has_ce = true) {
    return {{"ce", has_ce ? json(m.ce) : json(nullptr)},
            {"accuracy", m.accuracy},
            {"rmse", m.rmse},
            {"mae", m.mae}};
  }

  // global_mean: the training mean rating and class frequencies (Laplace-smoothed);
  // user_item_bias: mean + b_u + b_i by regularised alternating least squares, ids unseen in
  // training get bias 0. Fitted on the records the VAE trains on.
  json baselines() const {
    double mean = 0;
    std::vector<double> class_count(kRatingClasses, 1.0);
    for (int64_t r : train_) {
      mean += data_.records[r].rating;
      class_count[std::llround(data_.records[r].rating) - 1] += 1;
    }
    mean /= train_.size();
    const double total = train_.size() + kRatingClasses;
    const int64_t majority =
        std::max_element(class_count.begin(), class_count.end()) - class_count.begin();

    std::vector<double> user_bias(data_.users.size(), 0.0), item_bias(data_.items.size(), 0.0);
    for (int sweep = 0; sweep < kBiasSweeps; ++sweep) {
      for (int side = 0; side < 2; ++side) {
        auto& bias = side == 0 ? user_bias : item_bias;
        const auto& other = side == 0 ? item_bias : user_bias;
        const auto& of = side == 0 ? data_.user_of : data_.item_of;
        const auto& other_of = side == 0 ? data_.item_of : data_.user_of;
        std::vector<double> sum(bias.size(), 0.0), count(bias.size(), 0.0);
        for (int64_t r : train_) {
          sum[of[r]] += data_.records[r].rating - mean - other[other_of[r]];
          count[of[r]] += 1;
        }
        for (size_t k = 0; k < bias.size(); ++k)
          bias[k] = sum[k] / (kBiasRegularisation + count[k]);
      }
    }
    json global = json::object(), bias = json::object();
    for (Subset s : kSubsets) {
      const auto& positions = data_.subset(s);
      auto g = rating_metrics(positions, [&](int64_t) { return mean; });
      auto b = rating_metrics(positions, [&](int64_t r) {
        return mean + user_bias[data_.user_of[r]] + item_bias[data_.item_of[r]];
      });
      for (int64_t r : positions) {
        const int64_t c = std::llround(data_.records[r].rating) - 1;
        g.ce -= std::log(class_count[c] / total);
        g.accuracy += c == majority;
        const double predicted =
            std::clamp(mean + user_bias[data_.user_of[r]] + item_bias[data_.item_of[r]], 1.0, 5.0);
        b.accuracy += std::llround(predicted) - 1 == c;
      }
      if (!positions.empty()) {
        g.ce /= positions.size();
        g.accuracy /= positions.size();
        b.accuracy /= positions.size();
      }
      global[subset_name(s)] = metrics_json(g);
      bias[subset_name(s)] = metrics_json(b, false);
    }
    return {{"global_mean", global}, {"user_item_bias", bias}};
  }

  // truth.jsonl next to the data ({"user", "group"} lines): NMI and ARI of clusters vs groups;
  // empty without the file.
  json truth_scores(const int64_t* cluster) const {
    namespace fs = std::filesystem;
    const fs::path data_path(data_.path);
    const fs::path truth =
        (fs::is_directory(data_path) ? data_path : data_path.parent_path()) / "truth.jsonl";
    if (!fs::exists(truth)) return json::object();
    std::map<std::string, std::string> group_of;
    std::istringstream lines(read_file(truth.string()));
    std::string line;
    for (int64_t number = 1; std::getline(lines, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        const json j = json::parse(line);
        const json& g = j.at("group");
        group_of[j.at("user").get<std::string>()] = g.is_string() ? g.get<std::string>() : g.dump();
      } catch (const json::exception&) {
        throw file_error(truth.string(), "line " + std::to_string(number),
                         "expected {\"user\": ..., \"group\": ...}");
      }
    }
    std::map<std::string, int64_t> group_index;
    std::vector<int64_t> truth_labels, cluster_labels;
    for (size_t r = 0; r < data_.records.size(); ++r) {
      const auto found = group_of.find(data_.records[r].user);
      if (found == group_of.end()) continue;
      truth_labels.push_back(group_index.emplace(found->second, group_index.size()).first->second);
      cluster_labels.push_back(cluster[r]);
    }
    if (truth_labels.empty()) return json::object();
    return {{"nmi", normalized_mutual_information(truth_labels, cluster_labels)},
            {"ari", adjusted_rand_index(truth_labels, cluster_labels)}};
  }

  json write_outputs() {
    const auto out = evaluate_all();
    const int64_t n = out.ce.size(0), k = out.gamma.size(1);
    std::vector<int> subset_of(n, -1);
    for (Subset s : kSubsets)
      for (int64_t r : data_.subset(s)) subset_of[r] = static_cast<int>(s);

    json metrics = {{"train_subset", subset_name(o_.train_subset)},
                    {"early_stopping", stop_name_},
                    {"seed", o_.seed},
                    {"gmm", gmm_info_}};
    json subsets = json::object();
    const auto ce = out.ce.data_ptr<double>();
    const auto expected = out.expected.data_ptr<double>();
    const auto correct = out.correct.data_ptr<double>();
    const auto cluster = out.cluster.data_ptr<int64_t>();
    const auto trained_user = trained_users_.data_ptr<bool>();
    const auto trained_item = trained_items_.data_ptr<bool>();
    for (Subset s : kSubsets) {
      const auto& positions = data_.subset(s);
      auto m = rating_metrics(positions, [&](int64_t r) { return expected[r]; });
      std::vector<int64_t> sizes(k, 0);
      int64_t unseen_users = 0, unseen_items = 0, unseen_records = 0;
      for (int64_t r : positions) {
        m.ce += ce[r];
        m.accuracy += correct[r];
        ++sizes[cluster[r]];
        const bool user_unseen = !trained_user[data_.user_of[r]];
        const bool item_unseen = !trained_item[data_.item_of[r]];
        unseen_users += user_unseen;
        unseen_items += item_unseen;
        unseen_records += user_unseen || item_unseen;
      }
      if (!positions.empty()) m.ce /= positions.size(), m.accuracy /= positions.size();
      json entry = metrics_json(m);
      entry["records"] = positions.size();
      entry["cluster_sizes"] = sizes;
      entry["unseen"] = {{"records", unseen_records},
                         {"records_with_unseen_user", unseen_users},
                         {"records_with_unseen_item", unseen_items}};
      subsets[subset_name(s)] = entry;
    }
    metrics["subsets"] = subsets;
    metrics["baselines"] = baselines();
    metrics["epochs"] = epochs_;
    metrics.update(truth_scores(cluster));
    if (!em_clusters_.empty()) {
      // The EM partition before stage B, and how much of it stage B kept.
      std::vector<int64_t> em_train, final_train;
      for (int64_t r : train_) {
        em_train.push_back(em_clusters_[r]);
        final_train.push_back(cluster[r]);
      }
      json em = truth_scores(em_clusters_.data());
      em["train_shares"] = gmm_info_.at("train_shares");
      em["ari_with_final"] = adjusted_rand_index(em_train, final_train);
      metrics["em_partition"] = em;
    }
    if (!stage_b_start_.is_null()) metrics["stage_b_start"] = stage_b_start_;

    save_trained_vae(dir_, model_, data_.users, data_.items);
    {
      AtomicFile file(dir_ + "/clusters.jsonl");
      const auto gamma = out.gamma.data_ptr<double>();
      char number[32];
      for (int64_t r = 0; r < n; ++r) {
        std::string line =
            "{\"index\": " + std::to_string(r) + ", \"subset\": " +
            (subset_of[r] < 0
                 ? std::string("null")
                 : "\"" + std::string(subset_name(static_cast<Subset>(subset_of[r]))) + "\"") +
            ", \"user\": " + json(data_.records[r].user).dump() +
            ", \"item\": " + json(data_.records[r].item).dump() +
            ", \"cluster\": " + std::to_string(cluster[r]) + ", \"gamma\": [";
        for (int64_t c = 0; c < k; ++c) {
          std::snprintf(number, sizeof number, "%s%.6g", c ? ", " : "", gamma[r * k + c]);
          line += number;
        }
        file.stream() << line << "]}\n";
      }
      file.commit();
    }
    write_latent_plot(out);
    write_loss_plot();
    write_cluster_plot();
    write_vae_log();
    write_file_atomic(dir_ + "/metrics.json", metrics.dump(2) + "\n");
    return metrics;
  }

  // Test latents (else validation, else all) projected on their two main axes (PCA).
  void write_latent_plot(const RecordOutputs& out) const {
    std::vector<int64_t> shown = data_.subset(Subset::test);
    std::string shown_name = "test";
    if (shown.empty()) shown = data_.subset(Subset::validation), shown_name = "validation";
    if (shown.empty()) {
      shown.resize(out.mu.size(0));
      std::iota(shown.begin(), shown.end(), 0);
      shown_name = "all";
    }
    const int64_t stride =
        (static_cast<int64_t>(shown.size()) + kMaxPlotPoints - 1) / kMaxPlotPoints;
    std::vector<int64_t> picked;
    for (size_t i = 0; i < shown.size(); i += stride) picked.push_back(shown[i]);
    const auto mu = out.mu.index_select(0, torch::tensor(picked, torch::kLong)).to(torch::kDouble);
    const auto centre = mu.mean(0);
    const auto centred = mu - centre;
    const auto [eigenvalues, eigenvectors] = torch::linalg_eigh(centred.t().matmul(centred));
    auto axes = eigenvectors.flip(1).slice(1, 0, std::min<int64_t>(2, mu.size(1)));  // [D, 2]
    // Fix each axis's sign (its largest entry positive) so the picture is reproducible.
    const auto largest = axes.abs().argmax(0);
    axes = axes * axes.gather(0, largest.unsqueeze(0)).sign();
    if (axes.size(1) < 2) axes = torch::cat({axes, torch::zeros_like(axes)}, 1);
    const auto points = centred.matmul(axes).contiguous();
    const auto means =
        (model_->prior_means.detach().to(torch::kCPU, torch::kDouble) - centre).matmul(axes);

    const int64_t k = o_.model.clusters;
    std::vector<plot::ScatterSeries> series(k + 1);
    for (int64_t c = 0; c < k; ++c) {
      series[c].label = "cluster " + std::to_string(c);
      series[c].color = plot::palette(c);
    }
    const auto cluster = out.cluster.data_ptr<int64_t>();
    for (size_t i = 0; i < picked.size(); ++i) {
      auto& s = series[cluster[picked[i]]];
      s.x.push_back(points.data_ptr<double>()[2 * i]);
      s.y.push_back(points.data_ptr<double>()[2 * i + 1]);
    }
    auto& centres = series[k];
    centres.label = "GMM means";
    centres.color = "#000000";
    centres.marker = plot::Marker::cross;
    centres.size = 7;
    centres.opacity = 1.0;
    for (int64_t c = 0; c < k; ++c) {
      centres.x.push_back(means[c][0].item<double>());
      centres.y.push_back(means[c][1].item<double>());
    }
    plot::ChartOptions chart;
    chart.title = "VAE latent space (" + shown_name + " records, PCA)";
    chart.x_label = "principal axis 1";
    chart.y_label = "principal axis 2";
    write_file_atomic(dir_ + "/latent.svg", plot::scatter_svg(series, chart));
  }

  void write_loss_plot() const {
    std::vector<plot::LineSeries> series;
    for (const char* stage : {"A", "B"}) {
      plot::LineSeries train, val;
      train.label = std::string("stage ") + stage + " train";
      val.label = std::string("stage ") + stage + " " + stop_name_;
      train.color = val.color = plot::palette(stage[0] == 'A' ? 0 : 1);
      val.dashed = true;
      int64_t x = 0;
      for (const auto& e : epochs_) {
        ++x;
        if (e.at("stage") != stage) continue;
        train.x.push_back(x);
        val.x.push_back(x);
        train.y.push_back(e.at("train_loss").get<double>());
        val.y.push_back(e.at("val_loss").get<double>());
      }
      if (train.x.empty()) continue;
      series.push_back(train);
      series.push_back(val);
    }
    plot::ChartOptions chart;
    chart.title = "pretrain-vae losses";
    chart.x_label = "epoch (stage A, then stage B)";
    chart.y_label = "loss";
    write_file_atomic(dir_ + "/loss.svg", plot::line_chart_svg(series, chart));
  }

  // Training-record shares per stage-B epoch (0: after the EM fit), at mu and at a sampled z.
  void write_cluster_plot() const {
    if (stage_b_start_.is_null()) return;
    std::vector<json> points{stage_b_start_};
    for (const auto& e : epochs_)
      if (e.contains("clusters")) points.push_back(e.at("clusters"));
    std::vector<plot::LineSeries> series;
    for (int64_t c = 0; c < o_.model.clusters; ++c) {
      for (const char* at : {"mu", "z"}) {
        plot::LineSeries line;
        line.label = "cluster " + std::to_string(c) + " at " + at;
        line.color = plot::palette(c);
        line.dashed = at[0] == 'z';
        for (size_t x = 0; x < points.size(); ++x) {
          line.x.push_back(static_cast<double>(x));
          line.y.push_back(points[x].at(std::string("shares_") + at)[c].get<double>());
        }
        series.push_back(line);
      }
    }
    plot::ChartOptions chart;
    chart.title = "cluster shares of the training records";
    chart.x_label = "stage B epoch (0: after the EM fit)";
    chart.y_label = "share";
    write_file_atomic(dir_ + "/clusters.svg", plot::line_chart_svg(series, chart));
  }

  const Dataset& data_;
  VaeTrainOptions o_;
  std::string dir_;
  torch::Device device_;
  VaeGmm model_{nullptr};
  torch::Tensor users_, items_, classes_;        // [N] on the device
  torch::Tensor trained_users_, trained_items_;  // [n_users], [n_items] bool, CPU
  std::vector<int64_t> train_, stop_;
  std::string stop_name_;
  // Progress, saved in every checkpoint.
  std::string stage_ = "A";  // A | gmm | B | done
  int64_t epoch_ = 0;        // epochs finished in the current stage
  double best_loss_ = std::numeric_limits<double>::infinity();
  int64_t bad_epochs_ = 0;
  std::vector<torch::Tensor> best_;
  json epochs_ = json::array();
  json gmm_info_ = json::object();
  json stage_b_start_;                // cluster_diagnostics before the first stage-B step
  std::vector<int64_t> em_clusters_;  // [N] every record's cluster right after the EM fit
  std::unique_ptr<torch::serialize::InputArchive> optimizer_state_;
};

// A resumed run keeps the seed it started with.
uint64_t checkpoint_seed(const std::string& path) {
  if (!std::filesystem::exists(path)) throw file_error(path, "no checkpoint to resume from");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::kCPU);
    c10::IValue meta;
    archive.read("meta", meta);
    return json::parse(meta.toStringRef()).at("seed").get<uint64_t>();
  } catch (const c10::Error&) {
    throw file_error(path, "not a readable checkpoint of this model");
  } catch (const json::exception&) {
    throw file_error(path, "checkpoint metadata is damaged");
  }
}

// Contingency table of two labelings and its marginals.
struct Contingency {
  std::map<std::pair<int64_t, int64_t>, double> joint;
  std::map<int64_t, double> a, b;
  double n = 0;
};

Contingency contingency(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != b.size()) throw Error("clustering scores: labelings differ in length");
  Contingency t;
  for (size_t i = 0; i < a.size(); ++i) {
    t.joint[{a[i], b[i]}] += 1;
    t.a[a[i]] += 1;
    t.b[b[i]] += 1;
  }
  t.n = static_cast<double>(a.size());
  return t;
}

double entropy(const std::map<int64_t, double>& counts, double n) {
  double h = 0;
  for (const auto& [label, count] : counts) h -= count / n * std::log(count / n);
  return h;
}

}  // namespace

VaeTrainOptions VaeTrainOptions::from_config(const json& v, uint64_t seed) {
  VaeTrainOptions o;
  o.model.clusters = config_value<int64_t>(v, "clusters");
  o.model.embedding_dim = config_value<int64_t>(v, "embedding_dim");
  o.model.latent_dim = config_value<int64_t>(v, "latent_dim");
  o.model.encoder_layers = config_value<int64_t>(v, "encoder_layers");
  o.model.encoder_heads = config_value<int64_t>(v, "encoder_heads");
  o.model.encoder_ff = config_value<int64_t>(v, "encoder_ff");
  o.model.dropout = config_value<double>(v, "dropout");
  o.model.decoder_hidden = config_value<std::vector<int64_t>>(v, "decoder_hidden");
  o.model.init_range = config_value<double>(v, "init_range");
  o.train_subset = parse_subset(config_value<std::string>(v, "train_subset"));
  o.holdout_fraction = config_value<double>(v, "holdout_fraction");
  o.pretrain_epochs = config_value<int64_t>(v, "pretrain_epochs");
  o.pretrain_batch_size = config_value<int64_t>(v, "pretrain_batch_size");
  o.pretrain_lr = config_value<double>(v, "pretrain_lr");
  o.patience = config_value<int64_t>(v, "patience");
  o.vade_epochs = config_value<int64_t>(v, "vade_epochs");
  o.vade_batch_size = config_value<int64_t>(v, "vade_batch_size");
  o.vade_lr = config_value<double>(v, "vade_lr");
  o.prior_lr_scale = config_value<double>(v, "prior_lr_scale");
  const json scale = config_value<json>(v, "reconstruction_scale");
  if (scale.is_number() && scale.get<double>() > 0)
    o.reconstruction_scale = scale.get<double>();
  else if (scale != "2E")
    throw Error("config key 'vae.reconstruction_scale' must be \"2E\" or a positive number, got " +
                scale.dump());
  o.logvar_init = parse_logvar_init(config_value<std::string>(v, "logvar_init"));
  o.logvar_kappa = config_value<double>(v, "logvar_kappa");
  o.learn_pi = config_value<bool>(v, "learn_pi");
  o.balance_weight = config_value<double>(v, "balance_weight");
  o.reseed_min_share = config_value<double>(v, "reseed_min_share");
  o.variance_floor_rel = config_value<double>(v, "variance_floor_rel");
  o.lr_step_epochs = config_value<int64_t>(v, "lr_step_epochs");
  o.lr_step_gamma = config_value<double>(v, "lr_step_gamma");
  o.kl_start = config_value<double>(v, "kl_start");
  o.kl_step = config_value<double>(v, "kl_step");
  o.kl_every = config_value<int64_t>(v, "kl_every");
  o.kl_max = config_value<double>(v, "kl_max");
  o.gmm.max_iterations = config_value<int64_t>(v, "em_iterations");
  o.gmm.tolerance = config_value<double>(v, "em_tolerance");
  o.gmm.covariance_floor = config_value<double>(v, "covariance_floor");
  o.device = config_value<std::string>(v, "device");
  o.seed = seed;
  if (o.pretrain_batch_size < 1 || o.vade_batch_size < 1 || o.kl_every < 1 ||
      o.lr_step_epochs < 1 || o.patience < 1)
    throw Error(
        "config keys vae.*_batch_size, vae.kl_every, vae.lr_step_epochs and "
        "vae.patience must be at least 1");
  if (!(o.holdout_fraction > 0 && o.holdout_fraction < 1))
    throw Error("config key 'vae.holdout_fraction' must be between 0 and 1");
  auto require = [](bool ok, const char* key, const char* what) {
    if (!ok) throw Error(std::string("config key 'vae.") + key + "' must be " + what);
  };
  require(o.vade_lr > 0, "vade_lr", "positive");
  require(o.prior_lr_scale >= 0, "prior_lr_scale", "at least 0");
  require(o.logvar_kappa > 0, "logvar_kappa", "positive");
  require(o.balance_weight >= 0, "balance_weight", "at least 0");
  require(o.reseed_min_share >= 0 && o.reseed_min_share < 1, "reseed_min_share",
          "at least 0 and below 1");
  require(o.variance_floor_rel >= 0, "variance_floor_rel", "at least 0");
  return o;
}

double VaeTrainOptions::reconstruction_weight() const {
  return reconstruction_scale ? *reconstruction_scale
                              : 2.0 * static_cast<double>(model.embedding_dim);
}

LogvarInit parse_logvar_init(const std::string& name) {
  if (name == "random") return LogvarInit::random;
  if (name == "narrow") return LogvarInit::narrow;
  if (name == "copy_mu") return LogvarInit::copy_mu;
  throw Error("config key 'vae.logvar_init' must be \"random\", \"narrow\" or \"copy_mu\", got \"" +
              name + "\"");
}

void start_logvar_head(VaeGmmImpl& model, LogvarInit init, double kappa) {
  torch::NoGradGuard no_grad;
  auto& head = *model.logvar_head;
  switch (init) {
    case LogvarInit::random:
      return;
    case LogvarInit::narrow: {
      const double median =
          model.prior_log_variances.detach().exp().flatten().median().item<double>();
      head.weight.zero_();
      head.bias.fill_(std::log(kappa * median));
      return;
    }
    case LogvarInit::copy_mu:
      head.weight.copy_(model.mu_head->weight);
      head.bias.copy_(model.mu_head->bias);
      return;
  }
}

std::vector<int64_t> reseed_small_components(VaeGmmImpl& model, const std::vector<double>& shares,
                                             double min_share, torch::optim::Adam& optimizer,
                                             uint64_t seed) {
  const int64_t k = static_cast<int64_t>(shares.size());
  if (k != model.options.clusters) throw Error("reseed: one share per cluster expected");
  const int64_t largest = std::max_element(shares.begin(), shares.end()) - shares.begin();
  auto generator = seeded_generator(seed);
  torch::NoGradGuard no_grad;
  std::vector<int64_t> reseeded;
  for (int64_t c = 0; c < k; ++c) {
    if (c == largest || shares[c] >= min_share) continue;
    const auto noise = torch::randn({model.options.latent_dim}, generator, torch::kFloat)
                           .to(model.prior_means.device());
    const auto spread = (0.5 * model.prior_log_variances[largest]).exp();
    model.prior_means[c].copy_(model.prior_means[largest] + kReseedSpread * spread * noise);
    model.prior_log_variances[c].copy_(model.prior_log_variances[largest]);
    model.prior_logits[c].copy_(model.prior_logits[largest]);
    for (const auto* p : {&model.prior_means, &model.prior_log_variances, &model.prior_logits}) {
      const auto found = optimizer.state().find(p->unsafeGetTensorImpl());
      if (found == optimizer.state().end()) continue;  // not optimised, or no step yet
      auto& state = static_cast<torch::optim::AdamParamState&>(*found->second);
      state.exp_avg()[c].zero_();
      state.exp_avg_sq()[c].zero_();
    }
    reseeded.push_back(c);
  }
  return reseeded;
}

double VaeTrainOptions::kl_weight(int64_t vade_epoch) const {
  return std::min(kl_max, kl_start + kl_step * static_cast<double>(vade_epoch / kl_every));
}

double VaeTrainOptions::vade_learning_rate(int64_t vade_epoch) const {
  return vade_lr * std::pow(lr_step_gamma, static_cast<double>(vade_epoch / lr_step_epochs));
}

void check_vae_run(const Dataset& data, const VaeTrainOptions& options) {
  const log::ScopedLevel quiet(log::Level::warn);  // the run logs its summary when it starts
  VaeRun(data, options, "");
}

json pretrain_vae(const Dataset& data, const VaeTrainOptions& options, const std::string& run_dir,
                  bool resume) {
  make_dirs(run_dir);
  VaeTrainOptions effective = options;
  if (resume) effective.seed = checkpoint_seed(run_dir + "/" + kCheckpointName);
  VaeRun run(data, effective, run_dir);
  return run.run(resume);
}

double normalized_mutual_information(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const auto t = contingency(a, b);
  if (t.n == 0) return 0;
  const double ha = entropy(t.a, t.n), hb = entropy(t.b, t.n);
  if (ha == 0 && hb == 0) return 1.0;  // both labelings have one class: identical
  double mi = 0;
  for (const auto& [pair, count] : t.joint)
    mi += count / t.n * std::log(count * t.n / (t.a.at(pair.first) * t.b.at(pair.second)));
  return std::max(0.0, mi) / std::max((ha + hb) / 2, 1e-300);
}

double effective_clusters(const std::vector<int64_t>& sizes) {
  double total = 0, h = 0;
  for (int64_t size : sizes) total += static_cast<double>(size);
  for (int64_t size : sizes)
    if (size > 0) h -= size / total * std::log(size / total);
  return total > 0 ? std::exp(h) : 0.0;
}

double adjusted_rand_index(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const auto t = contingency(a, b);
  auto pairs = [](double x) { return x * (x - 1) / 2; };
  double index = 0, sum_a = 0, sum_b = 0;
  for (const auto& [pair, count] : t.joint) index += pairs(count);
  for (const auto& [label, count] : t.a) sum_a += pairs(count);
  for (const auto& [label, count] : t.b) sum_b += pairs(count);
  const double expected = sum_a * sum_b / std::max(pairs(t.n), 1.0);
  const double maximum = (sum_a + sum_b) / 2;
  if (maximum == expected) return 1.0;  // both trivial: perfect agreement by convention
  return (index - expected) / (maximum - expected);
}

}  // namespace gavamoe
