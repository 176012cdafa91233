// What a trained VAE-GMM says about (user, item) pairs at inference time: the rows of their ids
// in the embedding tables, the cluster with its responsibilities, and the expected rating.
//
// The expected rating is sum_c p_c (c + 1) over the decoder's rating-class probabilities
// p = softmax(decode(mu)) at the mean latent (no sampling), the rating pretrain-vae scores.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "gavamoe/model/vae_gmm.hpp"

namespace gavamoe {

// Table rows users, items [B] int64 -> mean latents mu [B, D] float32 on the CPU (eval mode, no
// gradient): where the retrieval baseline measures how near two pairs are.
torch::Tensor mean_latents(VaeGmm& model, const torch::Tensor& users, const torch::Tensor& items);

// Table rows users, items [B] int64 -> expected ratings [B] float64 (eval mode, no gradient).
torch::Tensor expected_ratings(VaeGmm& model, const torch::Tensor& users,
                               const torch::Tensor& items);

struct VaePrediction {
  int64_t user_row = 0;  // row in the user table; the unknown row for an unknown id (fallback)
  int64_t item_row = 0;
  ClusterAssignment assignment;
  double expected_rating = 0.0;
};

// Predictions for string-id pairs; unknown ids follow `policy` as in assign_clusters (an error
// naming them, or the unknown rows).
std::vector<VaePrediction> predict_pairs(
    TrainedVae& vae, const std::vector<std::pair<std::string, std::string>>& pairs,
    UnknownIds policy = UnknownIds::error);

}  // namespace gavamoe
