// `gavamoe eval` end to end: metrics JSON and table, and a bad row failing cleanly.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace gavamoe::test {
namespace {

TEST(EvalCli, WritesMetricsJsonAndTable) {
  const std::string dir = scratch_dir();
  write_text(dir + "/pred.jsonl",
             "{\"reference\": \"the room is clean\", \"generated\": \"the room is clean\", "
             "\"feature\": \"room\", \"rating\": 5, \"predicted_rating\": 6}\n"
             "{\"reference\": \"great staff !\", \"generated\": \"the staff\", "
             "\"feature\": \"staff\", \"rating\": 3, \"predicted_rating\": 3}\n");
  const CommandResult result = run_gavamoe(
      "eval --pred " + quote(dir + "/pred.jsonl") + " --out " + quote(dir + "/metrics.json"), dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto metrics = nlohmann::json::parse(read_text(dir + "/metrics.json"));
  EXPECT_EQ(metrics["n"], 2);
  EXPECT_EQ(metrics["fmr"], 1.0);
  EXPECT_EQ(metrics["usr"], 1.0);
  EXPECT_EQ(metrics["rmse"], 0.0);  // 6 is clipped to the top rating 5
  EXPECT_NE(result.out.find("bleu_4"), std::string::npos);
  EXPECT_NE(result.out.find("rouge_l/f_score"), std::string::npos);
}

TEST(EvalCli, BadRowExitsTwoWithOneLineAndNoOutput) {
  const std::string dir = scratch_dir();
  write_text(dir + "/pred.jsonl",
             "{\"reference\": \"a\", \"generated\": \"b\"}\n{\"generated\": \"b\"}\n");
  const CommandResult result = run_gavamoe(
      "eval --pred " + quote(dir + "/pred.jsonl") + " --out " + quote(dir + "/metrics.json"), dir);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("line 2: missing key 'reference'"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(result.out.empty());
  EXPECT_FALSE(std::filesystem::exists(dir + "/metrics.json"));
}

}  // namespace
}  // namespace gavamoe::test
