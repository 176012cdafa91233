// VaeGmm: the VAE with a Gaussian-mixture prior (VaDE) that clusters (user, item) pairs.
//
// Shapes: B records, E embedding width, D latent width, K clusters, C = 5 rating classes.
//   users, items [B] int64 -> tokens [2, B, E] (sequence-first: token 0 the user, 1 the item)
//   -> Transformer encoder (attention runs over the 2 tokens of one record only, never across
//   the batch) -> [B, 2E] -> mu, logvar [B, D] -> decoder D -> hidden... -> C logits (GELU).
// Prior: logits [K] (pi = softmax, so the weights stay normalised), means [K, D],
// log-variances [K, D].
// Embedding tables have one row more than there are ids: the last row is the "unknown" row,
// kept equal to the mean of the rows that training touched (fill_untrained_rows), and used for
// ids never seen in training and, when asked for, ids the model does not know at all.
#pragma once

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/data/record.hpp"
#include "gavamoe/model/gaussian_mixture.hpp"

namespace gavamoe {

constexpr int64_t kRatingClasses = 5;  // ratings 1..5 are classes 0..4

struct VaeGmmOptions {
  int64_t n_users = 0;  // known ids; the tables hold one more (unknown) row
  int64_t n_items = 0;
  int64_t embedding_dim = 64;  // E
  int64_t latent_dim = 16;     // D
  int64_t encoder_layers = 2;
  int64_t encoder_heads = 4;
  int64_t encoder_ff = 128;
  double dropout = 0.1;
  std::vector<int64_t> decoder_hidden = {128, 64};
  double init_range = 0.2;  // embeddings uniform in [-init_range, init_range]
  int64_t clusters = 4;     // K

  nlohmann::json to_json() const;
  static VaeGmmOptions from_json(const nlohmann::json& j);  // errors name the key
};

struct VaeEncoding {
  torch::Tensor mu;      // [B, D]
  torch::Tensor logvar;  // [B, D]
};

// Weights of the stage-B terms besides the KL weight s.
struct VadeTerms {
  double reconstruction_scale = 1.0;  // R; the release uses 2E
  double balance_weight = 0.0;        // lambda of the batch balance term (0: not computed)
};

struct VadeLoss {
  torch::Tensor total;           // R * reconstruction + s * kl + R * lambda * balance, scalar
  torch::Tensor reconstruction;  // mean rating cross-entropy
  torch::Tensor kl;              // mean VaDE KL
  torch::Tensor balance;         // balance_kl(mu); undefined when lambda is 0
};

struct VaeGmmImpl : torch::nn::Module {
  explicit VaeGmmImpl(const VaeGmmOptions& options);

  VaeEncoding encode(const torch::Tensor& users, const torch::Tensor& items);
  torch::Tensor decode(const torch::Tensor& z);  // [B, D] -> rating-class logits [B, C]

  // Stage A: cross-entropy of decode(mu) against the rating classes [B].
  torch::Tensor pretrain_loss(const torch::Tensor& users, const torch::Tensor& items,
                              const torch::Tensor& classes);
  // Stage B: z = mu + eps * exp(logvar / 2) in training mode, z = mu in eval mode.
  VadeLoss vade_loss(const torch::Tensor& users, const torch::Tensor& items,
                     const torch::Tensor& classes, double kl_weight, const VadeTerms& terms = {});

  // log pi_c + log N(z | mu_c, sigma2_c), [B, K].
  torch::Tensor log_prior_joint(const torch::Tensor& z) const;
  // Responsibilities gamma [B, K] at z.
  torch::Tensor gamma(const torch::Tensor& z) const;
  // The VaDE KL term per record [B] for an encoding and a latent sample z [B, D].
  torch::Tensor vade_kl(const torch::Tensor& mu, const torch::Tensor& logvar,
                        const torch::Tensor& z) const;
  // KL(mean_b gamma~ || uniform) with gamma~ = softmax_c(log N(mu | mu_c, sigma2_c) / D): the
  // batch's softened cluster occupancy against equal shares (pi left out, so it balances even
  // when pi is learnt; the temperature D keeps a gradient where gamma is one-hot). Scalar.
  torch::Tensor balance_kl(const torch::Tensor& mu) const;
  // Deterministic cluster: argmax_c of log_prior_joint(mu), [B] int64.
  torch::Tensor assign(const torch::Tensor& mu) const;

  // Copies a fitted mixture into the prior (weights -> logits, variances -> log-variances).
  void set_prior(const GaussianMixture& mixture);
  // Rows of ids that training never saw (mask false) and the unknown row take the mean of the
  // trained rows; masks are [n_users] and [n_items] bool.
  void fill_untrained_rows(const torch::Tensor& trained_users, const torch::Tensor& trained_items);
  int64_t unknown_user() const { return options.n_users; }
  int64_t unknown_item() const { return options.n_items; }

  VaeGmmOptions options;
  torch::nn::Embedding user_embedding{nullptr};  // [n_users + 1, E]
  torch::nn::Embedding item_embedding{nullptr};  // [n_items + 1, E]
  torch::nn::TransformerEncoder encoder{nullptr};
  torch::nn::Linear mu_head{nullptr};      // 2E -> D
  torch::nn::Linear logvar_head{nullptr};  // 2E -> D
  torch::nn::Sequential decoder{nullptr};
  torch::Tensor prior_logits;         // [K]
  torch::Tensor prior_means;          // [K, D]
  torch::Tensor prior_log_variances;  // [K, D]

 private:
  torch::Tensor log_density(const torch::Tensor& z) const;  // log N(z | mu_c, sigma2_c), [B, K]
};
TORCH_MODULE(VaeGmm);

// A trained model with its id maps, as pretrain-vae writes it into a run folder:
// vae.safetensors (weights), vae.json (VaeGmmOptions), users.json and items.json (string ids,
// position = index).
struct TrainedVae {
  VaeGmm model{nullptr};
  IdMap users;
  IdMap items;
};

void save_trained_vae(const std::string& run_dir, VaeGmm& model, const IdMap& users,
                      const IdMap& items);
TrainedVae load_trained_vae(const std::string& run_dir, torch::Device device = torch::kCPU);
// An Error naming `run_dir` unless it is a pretrain-vae run folder (has vae.json): the check
// before a command that needs the VAE does any other work.
void require_vae_run(const std::string& run_dir);

enum class UnknownIds { error, fallback };  // config "error" | "fallback"
UnknownIds parse_unknown_ids(const std::string& name);

struct ClusterAssignment {
  int64_t cluster = 0;
  std::vector<double> gamma;  // [K]
};

// Clusters of (user, item) string-id pairs. Unknown ids throw an Error that names them, or,
// with UnknownIds::fallback, use the unknown row (the mean trained embedding).
std::vector<ClusterAssignment> assign_clusters(
    TrainedVae& vae, const std::vector<std::pair<std::string, std::string>>& pairs,
    UnknownIds policy = UnknownIds::error);

}  // namespace gavamoe
