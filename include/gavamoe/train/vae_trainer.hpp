// VaeTrainer: the whole pretrain-vae run, from a Dataset to the outputs in a run folder.
//
//   stage A  autoencoder pre-training: cross-entropy of decode(mu), Adam, early stopping on the
//            early-stopping subset's loss; the best epoch's weights are kept, not the last.
//   GMM      EM (GaussianMixture) on mu of the training records, copied into the prior.
//   stage B  VaDE: R * reconstruction + s * KL with s annealed per epoch (R = 2E as in the
//            authors' release), Adam with a StepLR schedule (lr * gamma^(epoch / step)); the
//            prior's weights stay normalised. It starts with the logvar head set by
//            `logvar_init`. Opt-in balance for routing: fixed uniform pi, a batch balance term,
//            reseeding of components that empty, a variance floor relative to the latent's
//            spread (all off by default: the paper's objective).
// Every epoch ends with a checkpoint (run_dir/checkpoint.pt, written atomically) from which a
// killed run continues; each epoch reseeds from (seed, stage, epoch), so a resumed run gives
// the same result as an uninterrupted one, and two runs with the same data, seed and thread
// count give byte-identical outputs on the CPU.
//
// Training records: the `train_subset` (default train). The early-stopping subset is
// validation, unless it is empty or is the training subset: then a seeded `holdout_fraction`
// of the training records is held out for it. Ids that never occur in the records trained on
// ("unseen") get the mean trained embedding (VaeGmm::fill_untrained_rows); metrics count them.
//
// Every stage-B epoch ends with cluster diagnostics on the training records (shares at mu and
// at a sampled z, their agreement, encoder and prior variances, gamma's entropy and balance,
// agreement with the EM partition), logged and written to vae_log.jsonl and metrics.json.
//
// Outputs: vae.safetensors, vae.json, users.json, items.json, clusters.jsonl, metrics.json,
// vae_log.jsonl, latent.svg, loss.svg, clusters.svg (see pretrain_vae below).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gavamoe/data/dataset.hpp"
#include "gavamoe/model/gaussian_mixture.hpp"
#include "gavamoe/model/vae_gmm.hpp"

namespace gavamoe {

// The logvar head at the start of stage B (stage A never trains it).
enum class LogvarInit {
  random,   // as initialised: exp(logvar) about 1.2, wider than most components
  narrow,   // weights 0, bias log(kappa * median prior variance): z stays in mu's component
  copy_mu,  // the mu head's weights (the authors' release)
};
LogvarInit parse_logvar_init(const std::string& name);  // errors name vae.logvar_init
void start_logvar_head(VaeGmmImpl& model, LogvarInit init, double kappa);

struct VaeTrainOptions {
  VaeGmmOptions model;  // n_users and n_items are taken from the data
  Subset train_subset = Subset::train;
  double holdout_fraction = 0.1;
  int64_t pretrain_epochs = 50;
  int64_t pretrain_batch_size = 256;
  double pretrain_lr = 1e-3;
  int64_t patience = 5;
  int64_t vade_epochs = 30;
  int64_t vade_batch_size = 256;
  double vade_lr = 1e-5;        // the release's effective rate (its argparse default)
  double prior_lr_scale = 1.0;  // the prior's learning rate is vade_lr times this
  // R in R * CE + s * KL; unset: 2E, twice the embedding size (the release).
  std::optional<double> reconstruction_scale;
  LogvarInit logvar_init = LogvarInit::narrow;
  double logvar_kappa = 0.05;
  // Balance for routing (paper values: true, 0, 0, 0).
  bool learn_pi = true;             // false: pi fixed uniform during stage B
  double balance_weight = 0.0;      // lambda of VadeTerms, times R
  double reseed_min_share = 0.0;    // at each epoch end (see reseed_small_components)
  double variance_floor_rel = 0.0;  // sigma2_cd >= this * Var_d(mu of the training records)
  int64_t lr_step_epochs = 10;
  double lr_step_gamma = 0.5;
  double kl_start = 0.01;  // s at epoch 0, + kl_step every kl_every epochs, at most kl_max
  double kl_step = 0.005;
  int64_t kl_every = 5;
  double kl_max = 0.1;
  GaussianMixtureOptions gmm;
  std::string device = "auto";  // auto (CUDA when available) | cpu | cuda
  uint64_t seed = 1;

  // From the "vae" section of a run config; errors name the key.
  static VaeTrainOptions from_config(const nlohmann::json& vae_section, uint64_t seed);
  double kl_weight(int64_t vade_epoch) const;
  double vade_learning_rate(int64_t vade_epoch) const;
  double reconstruction_weight() const;  // R
};

// Every prior component whose share is below min_share restarts from the largest component b:
// mean mu_b + 0.1 sigma_b * noise (seeded), b's log-variances and logit; its rows of Adam's
// moments are zeroed so that old momentum does not pull it back. Returns the reseeded ones.
std::vector<int64_t> reseed_small_components(VaeGmmImpl& model, const std::vector<double>& shares,
                                             double min_share, torch::optim::Adam& optimizer,
                                             uint64_t seed);

// Trains (or, with resume, continues the run in run_dir) and writes every output. Returns the
// content of metrics.json.
nlohmann::json pretrain_vae(const Dataset& data, const VaeTrainOptions& options,
                            const std::string& run_dir, bool resume = false);
// The checks pretrain_vae makes before it trains (ratings in 1..5, a non-empty training
// subset and early-stopping set, vae.clusters at most the training records, vae.device),
// without writing anything: a command calls it before it creates the run folder.
void check_vae_run(const Dataset& data, const VaeTrainOptions& options);

// Agreement of two labelings of the same items: normalized mutual information (arithmetic
// normalisation, as scikit-learn's default) and the adjusted Rand index.
double normalized_mutual_information(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
double adjusted_rand_index(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// exp(H(shares)) of cluster sizes: K for equal clusters, 1 for a single one.
double effective_clusters(const std::vector<int64_t>& sizes);

}  // namespace gavamoe
