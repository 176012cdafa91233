// The commands end to end on tiny data: data import-movielens and data stats, rec train (and
// --resume refusing --set), rec eval --json, rec label; wrong kinds of folders and bad input are
// one-line errors with exit code 2 and no partial output; rec train --nproc 2 takes one
// process's steps.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "rec_fixtures.hpp"
#include "test_util.hpp"
#include "training_runs.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

// 30 users who each rate 8 of 16 movies (user u: movies u % 16 + 1, ...), one per day.
std::string tiny_movielens(const std::string& dir) {
  fs::create_directories(dir);
  std::string items, ratings;
  for (int i = 1; i <= 16; ++i) items += test::u_item_line(i, "Movie " + std::to_string(i), i % 19);
  items += test::u_item_line(17, "Movie 3", 2);  // a repeated title (too few ratings: removed)
  for (int u = 1; u <= 30; ++u)
    for (int k = 0; k < 8; ++k)
      ratings += std::to_string(u) + "\t" + std::to_string((u + k) % 16 + 1) + "\t4\t" +
                 std::to_string(1000 * k + u) + "\n";
  ratings += "1\t17\t3\t5\n";
  test::write_text(dir + "/u.item", items);
  test::write_text(dir + "/u.data", ratings);
  return dir;
}

const char* kTiny =
    "--set rec.sasrec_dim=16 --set rec.sasrec_heads=2 --set rec.sasrec_ffn=16 --set "
    "rec.epochs=2 --set rec.sasrec_batch_size=64 --set rec.mf_dim=8 --set rec.mf_negatives=5 "
    "--set rec.device=cpu --threads 1";

TEST(RecCli, ImportTrainEvalLabel) {
  const std::string dir = test::scratch_dir();
  tiny_movielens(dir + "/ml");
  auto r =
      test::run_gavamoe("data import-movielens --in " + dir + "/ml --out " + dir + "/seq", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("30 users, 16 items"), std::string::npos) << r.err;
  r = test::run_gavamoe("data stats --json --data " + dir + "/seq", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto stats = nlohmann::json::parse(r.out);
  EXPECT_EQ(stats.at("interactions"), 240);
  EXPECT_EQ(stats.at("items_sharing_a_title"), 0);

  r = test::run_gavamoe(
      "rec train --model sasrec --data " + dir + "/seq --out " + dir + "/run " + kTiny, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("best validation"), std::string::npos) << r.out;
  for (const char* file : {"rec.json", "model.safetensors", "metrics.json", "config.json",
                           "train_log.jsonl", "train.log"})
    EXPECT_TRUE(fs::exists(dir + "/run/" + file)) << file;
  // A finished run is not trained over, and --resume keeps its settings.
  r = test::run_gavamoe("rec train --model sasrec --data " + dir + "/seq --out " + dir + "/run",
                        dir);
  EXPECT_EQ(r.exit_code, 2);
  r = test::run_gavamoe("rec train --resume " + dir + "/run --set rec.epochs=9", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--config and --set are not accepted"), std::string::npos) << r.err;

  r = test::run_gavamoe("rec eval --json --run " + dir + "/run", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto result = nlohmann::json::parse(r.out);
  EXPECT_EQ(result.at("users"), 30);
  for (const char* part : {"model", "popularity", "random"})
    for (const char* metric : {"hr@10", "ndcg@10", "mrr@10", "hr@1", "ndcg@20"})
      EXPECT_TRUE(result.at(part).contains(metric)) << part << " " << metric;
  // 16 movies, 7 masked: 9 candidates, so a random ranking hits the top 10 always.
  EXPECT_DOUBLE_EQ(result.at("random").at("hr@10").get<double>(), 1.0);
  r = test::run_gavamoe("rec eval --subset validation --run " + dir + "/run", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ndcg@10"), std::string::npos);

  r = test::run_gavamoe("rec label --run " + dir + "/run --out " + dir + "/labels --seed 3", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string train_top = test::read_text(dir + "/labels/train_top.txt");
  EXPECT_EQ(std::count(train_top.begin(), train_top.end(), '\n'), 30 * 6);
  r = test::run_gavamoe("rec label --run " + dir + "/run --out " + dir + "/labels2 --seed 3", dir);
  EXPECT_EQ(test::read_text(dir + "/labels2/train_top.txt"), train_top);

  r = test::run_gavamoe("rec train --model mf --data " + dir + "/seq --out " + dir + "/mf " + kTiny,
                        dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 17 ids: the top 20 % holds 3 items, so at most 3 rows per user.
  r = test::run_gavamoe("rec label --times 6 --run " + dir + "/mf --out " + dir + "/mflabels", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("3 items score above the top-20 % threshold"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/mflabels/test_top.txt"));
  r = test::run_gavamoe("rec label --times 3 --run " + dir + "/mf --out " + dir + "/mflabels", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string test_top = test::read_text(dir + "/mflabels/test_top.txt");
  EXPECT_EQ(std::count(test_top.begin(), test_top.end(), '\n'), 30 * 3);
}

TEST(RecCli, WrongFoldersAndBadInputAreOneLineErrors) {
  const std::string dir = test::scratch_dir();
  tiny_movielens(dir + "/ml");
  auto r = test::run_gavamoe("rec eval --run " + dir + "/ml", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a `gavamoe rec train` run (no rec.json)"), std::string::npos) << r.err;
  fs::create_directories(dir + "/explainer");
  test::write_text(dir + "/explainer/explainer.json", "{}");
  r = test::run_gavamoe("rec label --run " + dir + "/explainer --out " + dir + "/x", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("a `gavamoe train` (explainer) run"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/x/train_top.txt"));
  // A malformed u.data line: named, and no output folder.
  test::write_text(dir + "/ml/u.data", "1\t1\t4\t10\n1\tx\n");
  r = test::run_gavamoe("data import-movielens --in " + dir + "/ml --out " + dir + "/seq", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("u.data:line 2"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/seq"));
  // A sequence folder with an item beyond the metadata.
  fs::create_directories(dir + "/bad");
  test::write_text(dir + "/bad/sequential_data.txt", "1 1 2 3\n2 1 5\n");
  test::write_text(dir + "/bad/metadata.json", "{}\n{}\n{}\n");
  r = test::run_gavamoe("rec train --data " + dir + "/bad --out " + dir + "/run", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("sequential_data.txt:line 2: item 5 has no metadata line"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// --nproc 2 (gloo on the CPU) against one process with the same global batch: the same loss
// curve, validation scores and weights. SASRec without dropout, so that nothing is drawn.
TEST(RecCli, TwoProcessesMatchOneProcess) {
  const std::string dir = test::scratch_dir();
  tiny_movielens(dir + "/ml");
  auto r =
      test::run_gavamoe("data import-movielens --in " + dir + "/ml --out " + dir + "/seq", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string train = "rec train --model sasrec --data " + dir + "/seq " + kTiny +
                            " --set rec.sasrec_batch_size=32 --set rec.log_every=1 --set "
                            "rec.sasrec_hidden_dropout=0 --set rec.sasrec_attn_dropout=0";
  r = test::run_gavamoe(train + " --out " + dir + "/one", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_gavamoe(train + " --out " + dir + "/two --nproc 2", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Rank 0 alone prints the summary.
  ASSERT_NE(r.out.find("outputs in"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("outputs in"), r.out.rfind("outputs in")) << r.out;
  EXPECT_EQ(nlohmann::json::parse(test::read_text(dir + "/two/metrics.json")).at("ranks"), 2);
  test::expect_same_training(dir + "/one", dir + "/two", "model.safetensors", 1e-4);
}

}  // namespace
}  // namespace gavamoe
