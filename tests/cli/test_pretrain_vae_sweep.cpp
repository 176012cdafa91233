// gavamoe pretrain-vae --clusters K1,K2,...: one run folder per K and clusters_sweep.json with
// the rows a user picks K from; bad lists are one-line errors. Tiny synthetic data and model.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;
using test::run_gavamoe;

const std::string kTinyVae =
    " --threads 1 --set vae.embedding_dim=8 --set vae.latent_dim=2 --set vae.encoder_layers=1"
    " --set vae.encoder_heads=2 --set vae.encoder_ff=16 --set vae.decoder_hidden=[16]"
    " --set vae.pretrain_epochs=2 --set vae.vade_epochs=1 --set vae.device=cpu";

TEST(PretrainVaeSweep, OneRunPerClusterCountAndATable) {
  const std::string dir = test::scratch_dir();
  const auto synth = run_gavamoe("data synth --out " + dir + "/data --users 30 --items 20 " +
                                     "--clusters 2 --records 200 --seed 1",
                                 dir);
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto sweep = run_gavamoe(
      "pretrain-vae --data " + dir + "/data --clusters 2,3 --out " + dir + "/sweep" + kTinyVae,
      dir);
  ASSERT_EQ(sweep.exit_code, 0) << sweep.err;
  const json rows = json::parse(test::read_text(dir + "/sweep/clusters_sweep.json"));
  ASSERT_EQ(rows.size(), 2u);
  for (size_t r = 0; r < 2; ++r) {
    const int k = static_cast<int>(r) + 2;
    const auto& row = rows[r];
    EXPECT_EQ(row.at("clusters").get<int>(), k);
    const std::string run = dir + "/sweep/K" + std::to_string(k);
    EXPECT_TRUE(std::filesystem::exists(run + "/vae.safetensors"));
    const json config = json::parse(test::read_text(run + "/config.json"));
    EXPECT_EQ(config.at("vae").at("clusters").get<int>(), k);
    const json metrics = json::parse(test::read_text(run + "/metrics.json"));
    const auto& test_subset = metrics.at("subsets").at("test");
    EXPECT_EQ(row.at("subset"), "test");
    EXPECT_EQ(row.at("rmse").get<double>(), test_subset.at("rmse").get<double>());
    EXPECT_EQ(row.at("cluster_sizes"), test_subset.at("cluster_sizes"));
    EXPECT_GE(row.at("effective_clusters").get<double>(), 1.0);
    EXPECT_LE(row.at("effective_clusters").get<double>(), k + 1e-9);
    EXPECT_GE(row.at("smallest_share").get<double>(), 0.0);
    EXPECT_EQ(row.at("nmi"), metrics.at("nmi"));  // data synth writes truth.jsonl
  }
  EXPECT_NE(test::read_text(dir + "/sweep/clusters_sweep.log").find("clusters sweep: K 3"),
            std::string::npos);

  for (const char* bad : {"2,x", "0", "3,3", "2,,3"}) {
    const auto result = run_gavamoe("pretrain-vae --data " + dir + "/data --clusters " + bad +
                                        " --out " + dir + "/bad" + kTinyVae,
                                    dir);
    EXPECT_EQ(result.exit_code, 2) << bad;
    EXPECT_NE(result.err.find("--clusters"), std::string::npos) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

}  // namespace
}  // namespace gavamoe
