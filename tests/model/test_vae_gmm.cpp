// VaeGmm: records are encoded independently; the VaDE KL, gamma, cluster assignment, the
// reconstruction scale and the balance term agree with a direct float64 computation written
// out with loops; the run-folder format round-trips.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/vae_gmm.hpp"
#include "small_vae.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

VaeGmmOptions small_options() { return test::small_vae_options(7, 5, 5, 4); }

// A model whose prior is random, so the tests do not depend on the initial values.
VaeGmm random_model() { return test::random_vae_gmm(small_options(), 11); }

// log pi_c + log N(z | mu_c, sigma2_c) for one record, float64 loops.
std::vector<double> reference_log_joint(VaeGmm& model, const torch::Tensor& z_row) {
  const auto logits = model->prior_logits.to(torch::kDouble);
  double norm = 0;
  for (int64_t c = 0; c < 4; ++c) norm += std::exp(logits[c].item<double>());
  std::vector<double> joint(4);
  for (int64_t c = 0; c < 4; ++c) {
    double value = logits[c].item<double>() - std::log(norm);
    for (int64_t d = 0; d < 5; ++d) {
      const double log_var = model->prior_log_variances[c][d].item<double>();
      const double diff = z_row[d].item<double>() - model->prior_means[c][d].item<double>();
      value += -0.5 * (std::log(2 * M_PI) + log_var + diff * diff / std::exp(log_var));
    }
    joint[c] = value;
  }
  return joint;
}

std::vector<double> softmax(const std::vector<double>& v) {
  double total = 0;
  for (double x : v) total += std::exp(x);
  std::vector<double> out;
  for (double x : v) out.push_back(std::exp(x) / total);
  return out;
}

TEST(VaeGmm, RecordLatentDoesNotDependOnItsBatch) {
  auto model = random_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto users = torch::tensor({3, 0, 6, 3, 1}, torch::kLong);
  const auto items = torch::tensor({2, 4, 0, 1, 2}, torch::kLong);
  const auto together = model->encode(users, items);
  for (int64_t r = 0; r < 5; ++r) {
    const auto alone = model->encode(users.slice(0, r, r + 1), items.slice(0, r, r + 1));
    EXPECT_TRUE(torch::allclose(alone.mu[0], together.mu[r], 1e-5, 1e-6)) << r;
    EXPECT_TRUE(torch::allclose(alone.logvar[0], together.logvar[r], 1e-5, 1e-6)) << r;
  }
  // Other company, different order: record (3, 2) keeps its latent.
  const auto other =
      model->encode(torch::tensor({5, 3}, torch::kLong), torch::tensor({3, 2}, torch::kLong));
  EXPECT_TRUE(torch::allclose(other.mu[1], together.mu[0], 1e-5, 1e-6));
}

TEST(VaeGmm, GammaKlAndAssignmentMatchFloat64Reference) {
  auto model = random_model();
  torch::manual_seed(5);
  const int64_t batch = 3;
  const auto mu = torch::randn({batch, 5});
  const auto logvar = torch::randn({batch, 5}) * 0.3;
  const auto z = mu + torch::randn({batch, 5}) * (0.5 * logvar).exp();
  torch::NoGradGuard no_grad;
  const auto kl = model->vade_kl(mu, logvar, z);
  const auto gamma = model->gamma(z);
  const auto cluster = model->assign(mu);
  const auto log_pi = torch::log_softmax(model->prior_logits.to(torch::kDouble), 0);
  for (int64_t b = 0; b < batch; ++b) {
    const auto g = softmax(reference_log_joint(model, z[b]));
    double expected = 0;
    for (int64_t c = 0; c < 4; ++c) {
      EXPECT_NEAR(gamma[b][c].item<double>(), g[c], 1e-5);
      double inner = 0;
      for (int64_t d = 0; d < 5; ++d) {
        const double log_var = model->prior_log_variances[c][d].item<double>();
        const double var = std::exp(log_var);
        const double diff = mu[b][d].item<double>() - model->prior_means[c][d].item<double>();
        inner += log_var + std::exp(logvar[b][d].item<double>()) / var + diff * diff / var;
      }
      expected += 0.5 * g[c] * inner - g[c] * (log_pi[c].item<double>() - std::log(g[c]));
    }
    for (int64_t d = 0; d < 5; ++d) expected -= 0.5 * (1 + logvar[b][d].item<double>());
    EXPECT_NEAR(kl[b].item<double>(), expected, 1e-4 * std::max(1.0, std::abs(expected)));

    const auto at_mu = reference_log_joint(model, mu[b]);
    int64_t best = 0;
    for (int64_t c = 1; c < 4; ++c)
      if (at_mu[c] > at_mu[best]) best = c;
    EXPECT_EQ(cluster[b].item<int64_t>(), best);
  }
}

TEST(VaeGmm, VadeLossInEvalModeIsCrossEntropyPlusWeightedKl) {
  auto model = random_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto users = torch::tensor({0, 4, 6}, torch::kLong);
  const auto items = torch::tensor({1, 1, 3}, torch::kLong);
  const auto classes = torch::tensor({4, 0, 2}, torch::kLong);
  const auto loss = model->vade_loss(users, items, classes, 0.25);
  const auto enc = model->encode(users, items);
  const auto logits = model->decode(enc.mu).to(torch::kDouble);
  const auto kl = model->vade_kl(enc.mu, enc.logvar, enc.mu);
  double ce = 0, kl_mean = 0;
  for (int64_t b = 0; b < 3; ++b) {
    double total = 0;
    for (int64_t c = 0; c < kRatingClasses; ++c) total += std::exp(logits[b][c].item<double>());
    ce += (std::log(total) - logits[b][classes[b].item<int64_t>()].item<double>()) / 3;
    kl_mean += kl[b].item<double>() / 3;
  }
  EXPECT_NEAR(loss.reconstruction.item<double>(), ce, 1e-5);
  EXPECT_NEAR(loss.kl.item<double>(), kl_mean, 1e-4);
  EXPECT_NEAR(loss.total.item<double>(), ce + 0.25 * kl_mean, 1e-4);
  EXPECT_NEAR(model->pretrain_loss(users, items, classes).item<double>(), ce, 1e-5);
}

TEST(VaeGmm, VadeLossScalesReconstructionAndAddsBalance) {
  auto model = random_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto users = torch::tensor({0, 4, 6, 2}, torch::kLong);
  const auto items = torch::tensor({1, 1, 3, 0}, torch::kLong);
  const auto classes = torch::tensor({4, 0, 2, 3}, torch::kLong);
  const auto plain = model->vade_loss(users, items, classes, 0.25);
  const auto scaled = model->vade_loss(users, items, classes, 0.25, {16.0, 0.5});
  const double ce = plain.reconstruction.item<double>(), kl = plain.kl.item<double>();
  EXPECT_FALSE(plain.balance.defined());
  // Balance by hand: gamma~ = softmax(log N(mu | c) / D), D = 5, averaged over the batch, then
  // sum_c g log(K g).
  const auto mu = model->encode(users, items).mu;
  const auto log_pi = torch::log_softmax(model->prior_logits.to(torch::kDouble), 0);
  std::vector<double> mean_gamma(4, 0.0);
  for (int64_t b = 0; b < 4; ++b) {
    auto log_density = reference_log_joint(model, mu[b]);
    for (int64_t c = 0; c < 4; ++c)
      log_density[c] = (log_density[c] - log_pi[c].item<double>()) / 5;
    const auto g = softmax(log_density);
    for (int64_t c = 0; c < 4; ++c) mean_gamma[c] += g[c] / 4;
  }
  double balance = 0;
  for (double g : mean_gamma) balance += g * std::log(4 * g);
  EXPECT_NEAR(scaled.balance.item<double>(), balance, 1e-5);
  EXPECT_NEAR(scaled.total.item<double>(), 16.0 * ce + 0.25 * kl + 16.0 * 0.5 * balance,
              1e-4 * 16.0 * ce);
  // R = 1 and no balance is the loss without terms, bit for bit.
  EXPECT_TRUE(
      torch::equal(model->vade_loss(users, items, classes, 0.25, {1.0, 0.0}).total, plain.total));
}

TEST(VaeGmm, SetPriorKeepsWeightsNormalised) {
  auto model = random_model();
  const GaussianMixture mixture(torch::tensor({0.1, 0.2, 0.3, 0.4}), torch::randn({4, 5}),
                                torch::rand({4, 5}) + 0.5);
  model->set_prior(mixture);
  const auto pi = torch::softmax(model->prior_logits, 0).to(torch::kDouble);
  EXPECT_TRUE(torch::allclose(pi, mixture.weights(), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(model->prior_log_variances.exp().to(torch::kDouble),
                              mixture.variances(), 1e-5, 1e-6));
}

TEST(VaeGmm, UntrainedRowsTakeTheMeanOfTrainedRows) {
  auto model = random_model();
  const auto trained_users = torch::tensor({1, 1, 0, 1, 0, 0, 0}, torch::kBool);
  const auto trained_items = torch::ones({5}, torch::kBool);
  const auto before = model->user_embedding->weight.clone();
  model->fill_untrained_rows(trained_users, trained_items);
  const auto mean = (before[0] + before[1] + before[3]) / 3;
  const auto& after = model->user_embedding->weight;
  EXPECT_TRUE(torch::equal(after[1], before[1]));
  for (int64_t row : {2, 4, 5, 6, 7}) EXPECT_TRUE(torch::allclose(after[row], mean)) << row;
  EXPECT_TRUE(torch::allclose(model->item_embedding->weight[5],
                              model->item_embedding->weight.slice(0, 0, 5).mean(0)));
}

TEST(VaeGmm, RunFolderRoundTripAndUnknownIds) {
  const std::string dir = test::scratch_dir();
  auto model = random_model();
  IdMap users, items;
  for (const char* u : {"u0", "u1", "u2", "u3", "u4", "u5", "u6"}) users.add(u);
  for (const char* i : {"i0", "i1", "i2", "i3", "i4"}) items.add(i);
  save_trained_vae(dir, model, users, items);
  auto loaded = load_trained_vae(dir);
  EXPECT_EQ(loaded.users.id(3), "u3");
  for (const auto& p : model->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), loaded.model->named_parameters()[p.key()])) << p.key();

  const auto assigned = assign_clusters(loaded, {{"u3", "i2"}, {"u0", "i4"}});
  model->eval();
  torch::NoGradGuard no_grad;
  const auto mu =
      model->encode(torch::tensor({3, 0}, torch::kLong), torch::tensor({2, 4}, torch::kLong)).mu;
  const auto clusters = model->assign(mu);
  ASSERT_EQ(assigned.size(), 2u);
  for (int64_t r = 0; r < 2; ++r) {
    EXPECT_EQ(assigned[r].cluster, clusters[r].item<int64_t>());
    ASSERT_EQ(assigned[r].gamma.size(), 4u);
  }
  try {
    assign_clusters(loaded, {{"u3", "i2"}, {"nobody", "i9"}});
    FAIL() << "unknown ids must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("user 'nobody'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("item 'i9'"), std::string::npos) << e.what();
  }
  const auto fallback = assign_clusters(loaded, {{"nobody", "i9"}}, UnknownIds::fallback);
  ASSERT_EQ(fallback.size(), 1u);
  const auto unknown_mu =
      model->encode(torch::tensor({7}, torch::kLong), torch::tensor({5}, torch::kLong)).mu;
  EXPECT_EQ(fallback[0].cluster, model->assign(unknown_mu)[0].item<int64_t>());
}

TEST(VaeGmm, BadOptionsAreErrors) {
  auto o = small_options();
  o.encoder_heads = 3;
  EXPECT_THROW(VaeGmm{o}, Error);
  EXPECT_THROW(VaeGmmOptions::from_json(nlohmann::json{{"n_users", 3}}), Error);
}

}  // namespace
}  // namespace gavamoe
