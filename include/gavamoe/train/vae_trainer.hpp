// VaeTrainer: the whole pretrain-vae run, from a Dataset to the outputs in a run folder.
//
//   stage A  autoencoder pre-training: cross-entropy of decode(mu), Adam, early stopping on the
//            early-stopping subset's loss; the best epoch's weights are kept, not the last.
//   GMM      EM (GaussianMixture) on mu of the training records, copied into the prior.
//   stage B  VaDE: reconstruction + s * KL with s annealed per epoch, Adam with a StepLR
//            schedule (lr * gamma^(epoch / step)); the prior's weights stay normalised.
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
// Outputs: vae.safetensors, vae.json, users.json, items.json, clusters.jsonl, metrics.json,
// latent.svg, loss.svg (see pretrain_vae below).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/data/dataset.hpp"
#include "gavamoe/model/gaussian_mixture.hpp"
#include "gavamoe/model/vae_gmm.hpp"

namespace gavamoe {

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
  double vade_lr = 3e-4;
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
};

// Trains (or, with resume, continues the run in run_dir) and writes every output. Returns the
// content of metrics.json.
nlohmann::json pretrain_vae(const Dataset& data, const VaeTrainOptions& options,
                            const std::string& run_dir, bool resume = false);

// Agreement of two labelings of the same items: normalized mutual information (arithmetic
// normalisation, as scikit-learn's default) and the adjusted Rand index.
double normalized_mutual_information(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
double adjusted_rand_index(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

}  // namespace gavamoe
