// Diagonal Gaussian mixture by EM with k-means++ initialisation (see gaussian_mixture.hpp).
//
// Shapes: x [N, D], weights [K], means [K, D], variances [K, D], responsibilities [N, K].
#include "gavamoe/model/gaussian_mixture.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;
// Added to component masses so an empty component divides by a tiny number, not zero.
constexpr double kMassEpsilon = 10 * std::numeric_limits<double>::epsilon();

// Squared distance of every sample to every centre, [N, K].
torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& centres) {
  return ((x * x).sum(1, true) - 2 * x.matmul(centres.t()) + (centres * centres).sum(1))
      .clamp_min(0);
}

// Index drawn with probability proportional to `mass` (CPU float64, non-negative).
int64_t draw_index(const torch::Tensor& mass, std::mt19937_64& rng) {
  const auto m = mass.contiguous();
  const double* p = m.data_ptr<double>();
  const int64_t n = m.numel();
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += p[i];
  if (!(total > 0)) return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
  const double target = std::uniform_real_distribution<double>(0.0, total)(rng);
  double running = 0;
  for (int64_t i = 0; i < n; ++i) {
    running += p[i];
    if (running > target) return i;
  }
  return n - 1;
}

// k-means++: the first centre uniformly, each next one with probability ~ squared distance.
torch::Tensor kmeans_plus_plus(const torch::Tensor& x, int64_t k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t n = x.size(0);
  std::vector<torch::Tensor> centres{x[static_cast<int64_t>(rng() % static_cast<uint64_t>(n))]};
  torch::Tensor nearest = squared_distances(x, centres[0].unsqueeze(0)).squeeze(1);
  for (int64_t c = 1; c < k; ++c) {
    centres.push_back(x[draw_index(nearest.cpu(), rng)]);
    nearest = torch::minimum(nearest, squared_distances(x, centres.back().unsqueeze(0)).squeeze(1));
  }
  return torch::stack(centres);
}

}  // namespace

GaussianMixture::GaussianMixture(torch::Tensor weights, torch::Tensor means,
                                 torch::Tensor variances)
    : weights_(weights.to(torch::kDouble)),
      means_(means.to(torch::kDouble)),
      variances_(variances.to(torch::kDouble)) {}

torch::Tensor GaussianMixture::log_joint(const torch::Tensor& x_in) const {
  const auto x = x_in.to(means_.device(), torch::kDouble);
  const auto precision = 1.0 / variances_;  // [K, D]
  // sum_d (x_d - mu_cd)^2 / sigma2_cd, expanded into matmuls: [N, K]
  const auto mahalanobis = (x * x).matmul(precision.t()) - 2 * x.matmul((means_ * precision).t()) +
                           (means_ * means_ * precision).sum(1);
  const auto log_norm = -0.5 * (x.size(1) * kLog2Pi + variances_.log().sum(1));  // [K]
  return weights_.log() + log_norm - 0.5 * mahalanobis;
}

torch::Tensor GaussianMixture::responsibilities(const torch::Tensor& x) const {
  return torch::softmax(log_joint(x), 1);
}

torch::Tensor GaussianMixture::predict(const torch::Tensor& x) const {
  return log_joint(x).argmax(1);
}

double GaussianMixture::mean_log_likelihood(const torch::Tensor& x) const {
  return torch::logsumexp(log_joint(x), 1).mean().item<double>();
}

GaussianMixture GaussianMixture::fit(const torch::Tensor& x_in,
                                     const GaussianMixtureOptions& options) {
  const int64_t k = options.components;
  if (x_in.dim() != 2) throw Error("GaussianMixture: samples must be a [N, D] matrix");
  if (k < 1) throw Error("GaussianMixture: the number of components must be at least 1");
  if (x_in.size(0) < k)
    throw Error("GaussianMixture: " + std::to_string(x_in.size(0)) + " samples cannot fit " +
                std::to_string(k) + " components");
  torch::NoGradGuard no_grad;
  const auto x = x_in.to(torch::kDouble).contiguous();
  const auto x2 = x * x;
  const double n = static_cast<double>(x.size(0));

  // M-step from responsibilities [N, K].
  auto maximise = [&](const torch::Tensor& resp, GaussianMixture& gmm) {
    const auto mass = resp.sum(0) + kMassEpsilon;  // [K]
    gmm.weights_ = mass / n;
    gmm.means_ = resp.t().matmul(x) / mass.unsqueeze(1);
    gmm.variances_ = (resp.t().matmul(x2) / mass.unsqueeze(1) - gmm.means_ * gmm.means_)
                         .clamp_min(options.covariance_floor);
  };

  const auto centres = kmeans_plus_plus(x, k, options.seed);
  const auto hard = torch::one_hot(squared_distances(x, centres).argmin(1), k).to(torch::kDouble);
  GaussianMixture gmm(torch::ones({k}), centres, torch::ones_like(centres));
  maximise(hard, gmm);

  double previous = -std::numeric_limits<double>::infinity();
  for (int64_t iteration = 1; iteration <= options.max_iterations; ++iteration) {
    const auto joint = gmm.log_joint(x);
    const auto log_likelihood = torch::logsumexp(joint, 1, true);
    const double mean_ll = log_likelihood.mean().item<double>();
    gmm.iterations_ = iteration;
    if (std::abs(mean_ll - previous) < options.tolerance) {
      gmm.converged_ = true;
      break;
    }
    maximise((joint - log_likelihood).exp(), gmm);
    previous = mean_ll;
  }
  return gmm;
}

}  // namespace gavamoe
