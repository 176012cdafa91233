// GaussianMixture: a diagonal-covariance Gaussian mixture fitted by EM on LibTorch tensors.
//
// Shapes: N samples, D dimensions, K components. x [N, D]; weights [K]; means [K, D];
// variances [K, D]. Fitting runs in float64 on the device of x (CPU or GPU): k-means++ picks
// the initial means (seeded, so a fit is reproducible), one hard-assignment M-step gives the
// initial weights and variances, then EM runs until the mean log-likelihood per sample
// improves by less than `tolerance` or `max_iterations` is reached. Variances never drop below
// `covariance_floor`, and an empty component keeps a tiny weight instead of dividing by zero.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace gavamoe {

struct GaussianMixtureOptions {
  int64_t components = 4;
  int64_t max_iterations = 200;
  double tolerance = 1e-6;         // on the mean log-likelihood per sample
  double covariance_floor = 1e-6;  // lower bound of every variance
  uint64_t seed = 1;               // k-means++ draws
};

class GaussianMixture {
 public:
  // Fits the mixture to x [N, D] (N >= components); errors name the problem.
  static GaussianMixture fit(const torch::Tensor& x, const GaussianMixtureOptions& options);
  // A mixture from known parameters (float64 copies are kept).
  GaussianMixture(torch::Tensor weights, torch::Tensor means, torch::Tensor variances);

  // log pi_c + log N(x | mu_c, diag(sigma2_c)), [N, K], float64.
  torch::Tensor log_joint(const torch::Tensor& x) const;
  // Responsibilities gamma [N, K] (rows sum to 1).
  torch::Tensor responsibilities(const torch::Tensor& x) const;
  // Most likely component of each sample, [N] int64.
  torch::Tensor predict(const torch::Tensor& x) const;
  // Mean log-likelihood per sample.
  double mean_log_likelihood(const torch::Tensor& x) const;

  const torch::Tensor& weights() const { return weights_; }
  const torch::Tensor& means() const { return means_; }
  const torch::Tensor& variances() const { return variances_; }
  int64_t iterations() const { return iterations_; }
  bool converged() const { return converged_; }

 private:
  torch::Tensor weights_;    // [K]
  torch::Tensor means_;      // [K, D]
  torch::Tensor variances_;  // [K, D]
  int64_t iterations_ = 0;
  bool converged_ = false;
};

}  // namespace gavamoe
