// pretrain-vae end to end on planted-cluster data: outputs, no collapse, determinism, resume;
// clustering scores against scikit-learn's documented values; the SVG charts; and, with
// GAVAMOE_DATASETS, the TripAdvisor ratings against the global-mean baseline.
// One LibTorch thread: the models are tiny, and OpenMP threads that spin-wait make a shared
// machine many times slower.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>
#include <sstream>

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

  for (const char* name : {"vae.safetensors", "vae.json", "users.json", "items.json",
                           "clusters.jsonl", "metrics.json", "latent.svg", "loss.svg"})
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

  pretrain_vae(data, small_options(), dir + "/run2");
  EXPECT_EQ(test::read_text(dir + "/run1/clusters.jsonl"),
            test::read_text(dir + "/run2/clusters.jsonl"));

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
  options.vade_lr = 3e-4;
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
