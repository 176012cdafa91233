// pretrain-vae end to end on planted-cluster data: outputs, no collapse, determinism, resume;
// stage B's options (reconstruction scale, logvar start, reseeding, the balance switches at
// their paper values giving the default run bit for bit, config errors); clustering scores
// against scikit-learn's documented values; the SVG charts; and, with GAVAMOE_DATASETS, the
// TripAdvisor ratings against the global-mean baseline.
// One LibTorch thread: the models are tiny, and OpenMP threads that spin-wait make a shared
// machine many times slower.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "gavamoe/core/config.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/plot/svg.hpp"
#include "gavamoe/train/vae_trainer.hpp"
#include "small_vae.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// Users in 4 groups, items in 4 groups; the rating depends on both groups (plus rare noise).
// truth.jsonl in `dir` gives each user's group.
Dataset planted_dataset(const std::string& dir, int64_t n_records = 2400) {
  const int n_users = 80, n_items = 48;
  const double table[4][4] = {{5, 4, 2, 1}, {1, 2, 4, 5}, {3, 5, 1, 3}, {4, 1, 5, 2}};
  std::mt19937_64 rng(42);
  Dataset data;
  data.path = dir;
  data.format = DataFormat::ratings;
  std::string truth;
  for (int u = 0; u < n_users; ++u)
    truth +=
        "{\"user\": \"u" + std::to_string(u) + "\", \"group\": " + std::to_string(u % 4) + "}\n";
  test::write_text(dir + "/truth.jsonl", truth);
  for (int64_t r = 0; r < n_records; ++r) {
    Record record;
    const int u = static_cast<int>(rng() % n_users), i = static_cast<int>(rng() % n_items);
    record.user = "u" + std::to_string(u);
    record.item = "i" + std::to_string(i);
    record.rating = (rng() % 10 == 0) ? 1 + rng() % 5 : table[u % 4][i % 4];
    data.user_of.push_back(data.users.add(record.user));
    data.item_of.push_back(data.items.add(record.item));
    data.records.push_back(record);
    data.subsets[r % 10 == 8 ? 1 : r % 10 == 9 ? 2 : 0].push_back(r);
  }
  return data;
}

VaeTrainOptions small_options() {
  VaeTrainOptions o;
  o.model = test::trainable_vae_shape(4);
  o.pretrain_epochs = 25;
  o.pretrain_batch_size = 128;
  o.pretrain_lr = 3e-3;
  o.patience = 4;
  o.vade_epochs = 4;
  o.vade_batch_size = 128;
  o.vade_lr = 1e-3;
  o.device = "cpu";
  o.seed = 3;
  return o;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::istringstream in(test::read_text(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(VaeTrainer, PlantedClustersNoCollapseAndDeterministic) {
  torch::set_num_threads(1);
  const std::string dir = test::scratch_dir();
  const auto data = planted_dataset(dir);
  const auto metrics = pretrain_vae(data, small_options(), dir + "/run1");

  for (const char* name :
       {"vae.safetensors", "vae.json", "users.json", "items.json", "clusters.jsonl", "metrics.json",
        "vae_log.jsonl", "latent.svg", "loss.svg", "clusters.svg"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/run1/" + name)) << name;

  const auto lines = lines_of(dir + "/run1/clusters.jsonl");
  ASSERT_EQ(lines.size(), data.records.size());
  std::vector<int64_t> sizes(4, 0);
  for (size_t r = 0; r < lines.size(); ++r) {
    const json j = json::parse(lines[r]);
    EXPECT_EQ(j.at("index").get<size_t>(), r);
    EXPECT_EQ(j.at("user"), data.records[r].user);
    EXPECT_EQ(j.at("item"), data.records[r].item);
    EXPECT_EQ(j.at("subset"), r % 10 == 8 ? "validation" : r % 10 == 9 ? "test" : "train");
    ASSERT_EQ(j.at("gamma").size(), 4u);
    double total = 0;
    for (double g : j.at("gamma")) total += g;
    EXPECT_NEAR(total, 1.0, 1e-4);
    ++sizes[j.at("cluster").get<int64_t>()];
  }
  for (int64_t c = 0; c < 4; ++c)
    EXPECT_GE(sizes[c], 0.02 * data.records.size()) << "cluster " << c << " collapsed";

  const auto& test = metrics.at("subsets").at("test");
  for (const char* key : {"ce", "accuracy", "rmse", "mae", "cluster_sizes"})
    EXPECT_TRUE(test.contains(key)) << key;
  EXPECT_LT(test.at("rmse").get<double>(),
            metrics.at("baselines").at("global_mean").at("test").at("rmse").get<double>());
  EXPECT_TRUE(metrics.contains("nmi"));
  EXPECT_TRUE(metrics.contains("ari"));
  EXPECT_GE(metrics.at("epochs").size(), 2u + 4u);
  // Diagnostics: the EM partition, stage B's start (the narrow logvar start keeps a sampled z
  // in mu's cluster) and every stage-B epoch.
  EXPECT_GE(metrics.at("stage_b_start").at("agreement_z_mu").get<double>(), 0.95);
  EXPECT_EQ(metrics.at("em_partition").at("train_shares").size(), 4u);
  EXPECT_TRUE(metrics.at("em_partition").contains("nmi"));
  EXPECT_TRUE(metrics.at("em_partition").contains("ari_with_final"));
  for (const auto& e : metrics.at("epochs"))
    EXPECT_EQ(e.contains("clusters"), e.at("stage") == "B") << e.dump();
  const auto log_lines = lines_of(dir + "/run1/vae_log.jsonl");
  EXPECT_EQ(log_lines.size(), metrics.at("epochs").size() + 2);  // + the EM fit, stage B's start

  pretrain_vae(data, small_options(), dir + "/run2");
  for (const char* name : {"clusters.jsonl", "vae.safetensors", "metrics.json", "vae_log.jsonl"})
    EXPECT_EQ(test::read_text(dir + "/run1/" + name), test::read_text(dir + "/run2/" + name))
        << name;

  // The saved model assigns the same clusters from string ids.
  auto vae = load_trained_vae(dir + "/run1");
  const auto assigned = assign_clusters(vae, {{data.records[5].user, data.records[5].item}});
  EXPECT_EQ(assigned[0].cluster, json::parse(lines[5]).at("cluster").get<int64_t>());
}

TEST(VaeTrainer, ResumedRunMatchesUninterruptedRun) {
  torch::set_num_threads(1);
  const std::string dir = test::scratch_dir();
  const auto data = planted_dataset(dir, 800);
  auto options = small_options();
  options.pretrain_epochs = 3;
  options.vade_epochs = 3;
  pretrain_vae(data, options, dir + "/full");
  auto cut = options;
  cut.vade_epochs = 1;  // as if killed after the first stage-B epoch
  pretrain_vae(data, cut, dir + "/resumed");
  pretrain_vae(data, options, dir + "/resumed", true);
  EXPECT_EQ(test::read_text(dir + "/full/clusters.jsonl"),
            test::read_text(dir + "/resumed/clusters.jsonl"));
  const auto epochs = json::parse(test::read_text(dir + "/resumed/metrics.json")).at("epochs");
  EXPECT_EQ(epochs.size(), 6u);
  EXPECT_THROW(pretrain_vae(data, options, dir + "/nothing-here", true), Error);
}

TEST(VaeTrainer, BadInputIsAnError) {
  const std::string dir = test::scratch_dir();
  auto data = planted_dataset(dir, 100);
  auto options = small_options();
  data.records[7].rating = 6;
  EXPECT_THROW(pretrain_vae(data, options, dir + "/run"), Error);
  data.records[7].rating = 3;
  data.subsets[0].clear();
  EXPECT_THROW(pretrain_vae(data, options, dir + "/run"), Error);
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/clusters.jsonl"));
}

VaeTrainOptions options_from(const std::vector<std::string>& assignments) {
  RunConfig config;
  config.set_all(assignments);
  return VaeTrainOptions::from_config(config.at("vae"), 1);
}

TEST(VaeTrainer, StageBOptionsFromConfig) {
  const auto defaults = options_from({});
  EXPECT_DOUBLE_EQ(defaults.reconstruction_weight(), 2.0 * 64);  // 2E, E = 64
  EXPECT_DOUBLE_EQ(defaults.vade_lr, 1e-5);
  EXPECT_EQ(defaults.logvar_init, LogvarInit::narrow);
  EXPECT_DOUBLE_EQ(defaults.logvar_kappa, 0.05);
  EXPECT_DOUBLE_EQ(options_from({"vae.embedding_dim=768"}).reconstruction_weight(), 1536.0);
  EXPECT_DOUBLE_EQ(options_from({"vae.reconstruction_scale=1"}).reconstruction_weight(), 1.0);
  EXPECT_EQ(options_from({"vae.logvar_init=copy_mu"}).logvar_init, LogvarInit::copy_mu);
  for (const std::string bad :
       {"vae.reconstruction_scale=3E", "vae.reconstruction_scale=0", "vae.logvar_init=wide",
        "vae.logvar_kappa=0", "vae.reseed_min_share=1", "vae.balance_weight=-1",
        "vae.variance_floor_rel=-1", "vae.prior_lr_scale=-1", "vae.vade_lr=0"}) {
    const std::string key = bad.substr(0, bad.find('='));
    try {
      options_from({bad});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'" + key + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(VaeTrainer, LogvarStartOptions) {
  auto model = test::random_vae_gmm(test::small_vae_options(7, 5, 5, 4), 11);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto users = torch::tensor({0, 3, 6}, torch::kLong);
  const auto items = torch::tensor({1, 4, 2}, torch::kLong);
  const auto before = model->encode(users, items).logvar.clone();
  start_logvar_head(*model, LogvarInit::random, 0.1);
  EXPECT_TRUE(torch::equal(model->encode(users, items).logvar, before));

  start_logvar_head(*model, LogvarInit::narrow, 0.1);
  // log(0.1 * median of the 20 prior variances); torch's median of an even count is the lower.
  auto variances = model->prior_log_variances.exp().flatten();
  variances = std::get<0>(variances.sort());
  const double expected = std::log(0.1 * variances[9].item<double>());
  EXPECT_EQ(model->logvar_head->weight.abs().max().item<float>(), 0.0f);
  const auto narrow = model->encode(users, items).logvar;
  EXPECT_TRUE(torch::allclose(narrow, torch::full_like(narrow, expected), 1e-6, 1e-6));

  start_logvar_head(*model, LogvarInit::copy_mu, 0.1);
  const auto enc = model->encode(users, items);
  EXPECT_TRUE(torch::equal(enc.logvar, enc.mu));
}

TEST(VaeTrainer, ReseedRestartsSmallComponentsFromTheLargest) {
  auto model = test::random_vae_gmm(test::small_vae_options(7, 5, 5, 4), 11);
  torch::optim::Adam optimizer(std::vector<torch::Tensor>{model->prior_logits, model->prior_means,
                                                          model->prior_log_variances},
                               torch::optim::AdamOptions(1e-2));
  const auto z = torch::randn({16, 5});
  optimizer.zero_grad();
  model->vade_kl(z, torch::zeros_like(z), z).mean().backward();
  optimizer.step();
  const auto means = model->prior_means.detach().clone();
  const auto reseeded = reseed_small_components(*model, {0.5, 0.01, 0.3, 0.19}, 0.05, optimizer, 7);
  ASSERT_EQ(reseeded, std::vector<int64_t>{1});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model->prior_log_variances[1], model->prior_log_variances[0]));
  EXPECT_EQ(model->prior_logits[1].item<float>(), model->prior_logits[0].item<float>());
  const auto offset =
      (model->prior_means[1] - means[0]) / (0.5 * model->prior_log_variances[0]).exp();
  EXPECT_GT(offset.abs().max().item<double>(), 0.0);
  EXPECT_LT(offset.abs().max().item<double>(), 0.1 * 5);  // 0.1 sigma times a normal draw
  for (int64_t c : {0, 2, 3}) EXPECT_TRUE(torch::equal(model->prior_means[c], means[c])) << c;
  auto& state = static_cast<torch::optim::AdamParamState&>(
      *optimizer.state().at(model->prior_means.unsafeGetTensorImpl()));
  EXPECT_EQ(state.exp_avg()[1].abs().max().item<float>(), 0.0f);
  EXPECT_EQ(state.exp_avg_sq()[1].abs().max().item<float>(), 0.0f);
  EXPECT_GT(state.exp_avg_sq()[2].abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(
      reseed_small_components(*model, {0.25, 0.25, 0.25, 0.25}, 0.05, optimizer, 7).empty());
}

TEST(VaeTrainer, BalanceSwitchesAtPaperValuesGiveTheDefaultRun) {
  torch::set_num_threads(1);
  const std::string dir = test::scratch_dir();
  const auto data = planted_dataset(dir, 400);
  auto with = [](VaeTrainOptions o) {
    const auto small = small_options();
    o.model = small.model;
    o.pretrain_epochs = 2;
    o.vade_epochs = 2;
    o.pretrain_batch_size = o.vade_batch_size = 128;
    o.device = "cpu";
    return o;
  };
  pretrain_vae(data, with(options_from({})), dir + "/default");
  // Paper values written out; the floor and the reseed share are on but never bind, so their
  // code runs without changing a bit.
  pretrain_vae(
      data,
      with(options_from({"vae.learn_pi=true", "vae.balance_weight=0", "vae.reseed_min_share=1e-9",
                         "vae.variance_floor_rel=1e-30", "vae.prior_lr_scale=1"})),
      dir + "/paper");
  for (const char* name : {"clusters.jsonl", "vae.safetensors"})
    EXPECT_EQ(test::read_text(dir + "/default/" + name), test::read_text(dir + "/paper/" + name))
        << name;
  // And the switches do something: fixed uniform pi, the balance term.
  pretrain_vae(data, with(options_from({"vae.learn_pi=false", "vae.balance_weight=0.5"})),
               dir + "/balanced");
  EXPECT_NE(test::read_text(dir + "/default/clusters.jsonl"),
            test::read_text(dir + "/balanced/clusters.jsonl"));
  auto vae = load_trained_vae(dir + "/balanced");
  EXPECT_TRUE(torch::equal(vae.model->prior_logits, torch::zeros({4})));
}

TEST(VaeTrainer, AnnealingAndStepSchedule) {
  VaeTrainOptions o;  // paper values: s 0.01 + 0.005 every 5 epochs up to 0.1; StepLR(10, 0.5)
  o.vade_lr = 1.5e-4;
  EXPECT_DOUBLE_EQ(o.kl_weight(0), 0.01);
  EXPECT_DOUBLE_EQ(o.kl_weight(4), 0.01);
  EXPECT_DOUBLE_EQ(o.kl_weight(5), 0.015);
  EXPECT_DOUBLE_EQ(o.kl_weight(29), 0.035);
  EXPECT_DOUBLE_EQ(o.kl_weight(1000), 0.1);
  EXPECT_DOUBLE_EQ(o.vade_learning_rate(9), 1.5e-4);
  EXPECT_DOUBLE_EQ(o.vade_learning_rate(10), 0.75e-4);
  EXPECT_DOUBLE_EQ(o.vade_learning_rate(25), 0.375e-4);
}

TEST(VaeTrainer, ClusteringScoresMatchScikitLearn) {
  // Values printed by sklearn.metrics (adjusted_rand_score, normalized_mutual_info_score).
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 0, 1, 2}), 0.5714285714285715, 1e-12);
  EXPECT_NEAR(normalized_mutual_information({0, 0, 1, 1}, {0, 0, 1, 2}), 0.8, 1e-12);
  EXPECT_NEAR(adjusted_rand_index({0, 0, 0, 0}, {0, 1, 2, 3}), 0.0, 1e-12);
  EXPECT_NEAR(normalized_mutual_information({0, 0, 1, 1}, {1, 1, 0, 0}), 1.0, 1e-12);
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {1, 1, 0, 0}), 1.0, 1e-12);
}

TEST(VaeTrainer, SvgChartsAreCompleteDocuments) {
  plot::ScatterSeries points;
  points.label = "a < b";
  points.x = {0, 1, 2};
  points.y = {1, 0, std::nan("")};
  points.color = plot::palette(0);
  plot::ChartOptions options;
  options.title = "scatter & co";
  const auto scatter = plot::scatter_svg({points}, options);
  EXPECT_EQ(scatter.rfind("<svg", 0), 0u);
  EXPECT_NE(scatter.find("</svg>"), std::string::npos);
  EXPECT_NE(scatter.find("scatter &amp; co"), std::string::npos);
  EXPECT_NE(scatter.find("a &lt; b"), std::string::npos);
  size_t circles = 0;
  for (size_t at = scatter.find("<circle"); at != std::string::npos;
       at = scatter.find("<circle", at + 1))
    ++circles;
  EXPECT_EQ(circles, 3u);  // two finite points and the legend sample
  plot::LineSeries line;
  line.label = "loss";
  line.x = {1, 2, 3};
  line.y = {3, 2, 1.5};
  line.color = plot::palette(1);
  const auto chart = plot::line_chart_svg({line}, options);
  EXPECT_NE(chart.find("<polyline"), std::string::npos);
}

TEST(VaeTrainer, TripAdvisorRatingsBeatGlobalMean) {
  GAVAMOE_REQUIRE_DATASETS(datasets);
  torch::set_num_threads(1);
  const std::string dir = test::scratch_dir();
  const auto data = load_dataset(datasets + "/peter_ratings/TripAdvisor");
  auto options = small_options();
  options.train_subset = Subset::validation;  // the folder has validation and test only
  options.model.embedding_dim = 16;
  options.model.latent_dim = 8;
  options.model.encoder_ff = 64;
  options.model.decoder_hidden = {64, 32};
  options.pretrain_epochs = 8;
  options.pretrain_batch_size = 256;
  options.pretrain_lr = 1e-3;
  options.patience = 2;
  options.vade_epochs = 2;
  options.vade_lr = 1e-5;  // the release's stage B (vae.vade_lr default)
  options.vade_batch_size = 512;
  const auto metrics = pretrain_vae(data, options, dir + "/run");
  const auto& test = metrics.at("subsets").at("test");
  const double rmse = test.at("rmse").get<double>();
  const double baseline =
      metrics.at("baselines").at("global_mean").at("test").at("rmse").get<double>();
  std::printf(
      "TripAdvisor test: RMSE %.4f (global mean %.4f, user+item bias %.4f), "
      "%lld of %lld records with an id unseen in training\n",
      rmse, baseline,
      metrics.at("baselines").at("user_item_bias").at("test").at("rmse").get<double>(),
      static_cast<long long>(test.at("unseen").at("records").get<int64_t>()),
      static_cast<long long>(test.at("records").get<int64_t>()));
  EXPECT_LT(rmse, baseline);
  EXPECT_GT(test.at("unseen").at("records").get<int64_t>(), 0);
}

}  // namespace
}  // namespace gavamoe
