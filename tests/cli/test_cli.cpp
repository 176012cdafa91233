// The gavamoe binary as a user runs it: help, common options, errors and exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace gavamoe {
namespace {

using test::run_gavamoe;

TEST(Cli, HelpListsEverySubcommand) {
  const auto result = run_gavamoe("--help", test::scratch_dir());
  EXPECT_EQ(result.exit_code, 0);
  for (const char* name :
       {"data", "pretrain-vae", "train", "infer", "retrieve", "eval", "generate", "export"})
    EXPECT_NE(result.out.find(name), std::string::npos) << name;
}

TEST(Cli, CommonOptionsAreAcceptedAfterEverySubcommand) {
  const std::string dir = test::scratch_dir();
  for (const char* name :
       {"data stats", "pretrain-vae", "train", "infer", "retrieve", "eval", "generate", "export"}) {
    const auto result = run_gavamoe(std::string(name) +
                                        " --help --threads 1 --seed 3 --log-level warn"
                                        " --set train.lr=0.1",
                                    dir);
    EXPECT_EQ(result.exit_code, 0) << name << result.err;
    EXPECT_NE(result.out.find("--config"), std::string::npos) << name;
  }
}

TEST(Cli, UnknownSubcommandOrOptionExitsWithTwo) {
  const std::string dir = test::scratch_dir();
  EXPECT_EQ(run_gavamoe("frobnicate", dir).exit_code, 2);
  EXPECT_EQ(run_gavamoe("data stats --no-such-option", dir).exit_code, 2);
}

TEST(Cli, SeedAndThreadsOutOfRangeAreErrors) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/r.jsonl",
                   R"({"user": "a", "item": "x", "rating": 5, "explanation": "nice"})");
  const std::string stats = "data stats --data " + dir + "/r.jsonl ";
  EXPECT_EQ(run_gavamoe(stats + "--seed 18446744073709551615", dir).exit_code, 0);
  for (const char* seed : {"18446744073709551616", "-1", "1.5", "x"}) {
    const auto result = run_gavamoe(stats + "--seed " + seed, dir);
    EXPECT_EQ(result.exit_code, 2) << seed;
    EXPECT_NE(result.err.find("--seed " + std::string(seed) + ": must be an integer from 0 to"),
              std::string::npos)
        << result.err;
  }
  const auto threads = run_gavamoe(stats + "--threads 100000", dir);
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_NE(threads.err.find("--threads 100000: at most"), std::string::npos) << threads.err;
}

TEST(Cli, DataStatsPrintsCounts) {
  const std::string dir = test::scratch_dir();
  test::write_text(
      dir + "/r.jsonl",
      R"({"user": "a", "item": "x", "rating": 5, "feature": "f", "explanation": "nice f"}
{"user": "b", "item": "x", "rating": 3, "feature": "g", "explanation": "ok g here"}
{"user": "a", "item": "y", "rating": 5, "feature": "f", "explanation": "fine"}
)");
  const auto table = run_gavamoe("data stats --data " + dir + "/r.jsonl", dir);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("records     3"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("users       2"), std::string::npos);
  EXPECT_NE(table.out.find("features    2"), std::string::npos);
  const auto json = run_gavamoe("data stats --json --data " + dir + "/r.jsonl", dir);
  ASSERT_EQ(json.exit_code, 0);
  const auto stats = nlohmann::json::parse(json.out);
  EXPECT_EQ(stats["items"], 2);
  EXPECT_EQ(stats["rating_histogram"]["5"], 2);
  EXPECT_EQ(stats["explanation_words"]["max"], 3);
}

TEST(Cli, BadInputIsOneErrorLineAndExitTwo) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/bad.jsonl",
                   "{\"user\": \"a\", \"item\": \"x\", \"rating\": 5}\n{oops\n");
  const auto result = run_gavamoe("data stats --data " + dir + "/bad.jsonl", dir);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("bad.jsonl:line 2: invalid JSON"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(result.out.empty());

  const auto bad_set = run_gavamoe("data stats --data " + dir + "/bad.jsonl --set vae.nope=1", dir);
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_NE(bad_set.err.find("vae.nope"), std::string::npos);

  const auto bad_level = run_gavamoe("data stats --data x --log-level loud", dir);
  EXPECT_EQ(bad_level.exit_code, 2);
  EXPECT_NE(bad_level.err.find("loud"), std::string::npos);
}

TEST(Cli, ResumeRefusesNewSettingsAndNeedsARunFolder) {
  const std::string dir = test::scratch_dir();
  for (const char* name : {"train", "pretrain-vae"}) {
    const auto with_set =
        run_gavamoe(std::string(name) + " --resume " + dir + " --set train.epochs=20", dir);
    EXPECT_EQ(with_set.exit_code, 2) << name;
    EXPECT_NE(with_set.err.find("keeps the settings the run started with"), std::string::npos)
        << with_set.err;
    EXPECT_EQ(std::count(with_set.err.begin(), with_set.err.end(), '\n'), 1) << with_set.err;

    const auto no_run = run_gavamoe(std::string(name) + " --resume " + dir + "/none", dir);
    EXPECT_EQ(no_run.exit_code, 2) << name;
    EXPECT_NE(no_run.err.find("config.json"), std::string::npos) << no_run.err;
  }
}

}  // namespace
}  // namespace gavamoe
