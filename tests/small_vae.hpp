// Small VAE-GMMs for tests: the shape the training tests train, and models with random weights
// and a random prior for tests that need a model whose outputs do not depend on initial values
// but not a trained one.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "gavamoe/model/vae_gmm.hpp"

namespace gavamoe::test {

inline VaeGmmOptions small_vae_options(int64_t n_users, int64_t n_items, int64_t latent_dim,
                                       int64_t clusters) {
  VaeGmmOptions o;
  o.n_users = n_users;
  o.n_items = n_items;
  o.embedding_dim = 8;
  o.latent_dim = latent_dim;
  o.encoder_layers = 2;
  o.encoder_heads = 2;
  o.encoder_ff = 16;
  o.decoder_hidden = {12, 6};
  o.clusters = clusters;
  return o;
}

// The shape of the VAEs the training tests train: small enough for seconds on one thread
// (n_users and n_items are left to the trainer).
inline VaeGmmOptions trainable_vae_shape(int64_t clusters) {
  VaeGmmOptions o;
  o.embedding_dim = 16;
  o.latent_dim = 4;
  o.encoder_layers = 1;
  o.encoder_heads = 2;
  o.encoder_ff = 32;
  o.decoder_hidden = {32, 16};
  o.clusters = clusters;
  return o;
}

inline VaeGmm random_vae_gmm(const VaeGmmOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  VaeGmm model(options);
  torch::NoGradGuard no_grad;
  model->prior_logits.copy_(torch::randn({options.clusters}));
  model->prior_means.copy_(torch::randn({options.clusters, options.latent_dim}));
  model->prior_log_variances.copy_(torch::randn({options.clusters, options.latent_dim}) * 0.5);
  return model;
}

// A random model that knows the given string ids.
inline TrainedVae random_trained_vae(const std::vector<std::string>& users,
                                     const std::vector<std::string>& items, int64_t latent_dim,
                                     int64_t clusters, uint64_t seed) {
  const auto options = small_vae_options(static_cast<int64_t>(users.size()),
                                         static_cast<int64_t>(items.size()), latent_dim, clusters);
  TrainedVae vae{random_vae_gmm(options, seed), {}, {}};
  for (const std::string& user : users) vae.users.add(user);
  for (const std::string& item : items) vae.items.add(item);
  return vae;
}

}  // namespace gavamoe::test
