// GaussianMixture: EM recovers a known mixture; densities against a brute-force float64 sum.
// One LibTorch thread: the models are tiny, and OpenMP threads that spin-wait make a shared
// machine many times slower.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/gaussian_mixture.hpp"

namespace gavamoe {
namespace {

// Samples from weights [K], means [K, D], standard deviations [K, D].
torch::Tensor sample_mixture(const torch::Tensor& weights, const torch::Tensor& means,
                             const torch::Tensor& stddevs, int64_t n, uint64_t seed) {
  auto generator = torch::make_generator<at::CPUGeneratorImpl>(seed);
  const auto component = torch::multinomial(weights, n, true, generator);
  const auto noise = torch::randn({n, means.size(1)}, generator, torch::kDouble);
  return means.index_select(0, component) + noise * stddevs.index_select(0, component);
}

TEST(GaussianMixture, RecoversThreeComponents) {
  torch::set_num_threads(1);
  const auto weights = torch::tensor({0.2, 0.3, 0.5}, torch::kDouble);
  const auto means = torch::tensor({{-6.0, 0.0}, {0.0, 6.0}, {5.0, -3.0}}, torch::kDouble);
  const auto stddevs = torch::tensor({{1.0, 0.5}, {0.7, 1.2}, {1.5, 1.0}}, torch::kDouble);
  const auto x = sample_mixture(weights, means, stddevs, 6000, 7).to(torch::kFloat);

  GaussianMixtureOptions options;
  options.components = 3;
  options.seed = 3;
  const auto gmm = GaussianMixture::fit(x, options);
  EXPECT_TRUE(gmm.converged());
  EXPECT_NEAR(gmm.weights().sum().item<double>(), 1.0, 1e-9);
  for (int64_t c = 0; c < 3; ++c) {
    // The fitted component nearest to the true mean c.
    const int64_t f = (gmm.means() - means[c]).pow(2).sum(1).argmin().item<int64_t>();
    EXPECT_NEAR(gmm.weights()[f].item<double>(), weights[c].item<double>(), 0.02) << c;
    for (int64_t d = 0; d < 2; ++d) {
      EXPECT_NEAR(gmm.means()[f][d].item<double>(), means[c][d].item<double>(), 0.1) << c;
      const double variance = stddevs[c][d].item<double>() * stddevs[c][d].item<double>();
      EXPECT_NEAR(gmm.variances()[f][d].item<double>(), variance, 0.12 * variance) << c;
    }
  }
}

TEST(GaussianMixture, SameSeedSameFit) {
  const auto x = torch::randn({500, 4}, torch::kDouble);
  GaussianMixtureOptions options;
  options.components = 4;
  const auto a = GaussianMixture::fit(x, options);
  const auto b = GaussianMixture::fit(x, options);
  EXPECT_TRUE(torch::equal(a.means(), b.means()));
  EXPECT_TRUE(torch::equal(a.variances(), b.variances()));
}

TEST(GaussianMixture, LogJointMatchesBruteForce) {
  const auto weights = torch::tensor({0.1, 0.6, 0.3}, torch::kDouble);
  const auto means = torch::randn({3, 4}, torch::kDouble);
  const auto variances = torch::rand({3, 4}, torch::kDouble) + 0.2;
  const GaussianMixture gmm(weights, means, variances);
  const auto x = torch::randn({5, 4}, torch::kDouble);
  const auto joint = gmm.log_joint(x);
  const auto gamma = gmm.responsibilities(x);
  for (int64_t n = 0; n < 5; ++n) {
    double expected[3], total = 0;
    for (int64_t c = 0; c < 3; ++c) {
      double log_density = std::log(weights[c].item<double>());
      for (int64_t d = 0; d < 4; ++d) {
        const double v = variances[c][d].item<double>();
        const double diff = x[n][d].item<double>() - means[c][d].item<double>();
        log_density += -0.5 * std::log(2 * M_PI * v) - 0.5 * diff * diff / v;
      }
      expected[c] = log_density;
      total += std::exp(log_density);
    }
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(joint[n][c].item<double>(), expected[c], 1e-9);
      EXPECT_NEAR(gamma[n][c].item<double>(), std::exp(expected[c]) / total, 1e-9);
    }
  }
}

TEST(GaussianMixture, CovarianceFloorHoldsOnConstantDimension) {
  auto x = torch::randn({200, 3}, torch::kDouble);
  x.select(1, 2).fill_(1.5);
  GaussianMixtureOptions options;
  options.components = 2;
  options.covariance_floor = 1e-4;
  const auto gmm = GaussianMixture::fit(x, options);
  EXPECT_GE(gmm.variances().min().item<double>(), 1e-4);
  EXPECT_TRUE(torch::isfinite(gmm.log_joint(x)).all().item<bool>());
}

TEST(GaussianMixture, TooFewSamplesIsAnError) {
  GaussianMixtureOptions options;
  options.components = 5;
  EXPECT_THROW(GaussianMixture::fit(torch::randn({3, 2}), options), Error);
}

}  // namespace
}  // namespace gavamoe
