// `gavamoe generate` on model folders whose config is hostile or too large for the machine:
// a size far out of range and a billion layers are one error line naming config.json and the
// key, at once; a config in range whose weights and beam search need more memory than the
// machine has is one line saying how much is needed and how much is available. Only
// config.json is written: the checks come before any weight or tokenizer is read.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

std::string config_folder(const std::string& dir, const nlohmann::json& changes) {
  nlohmann::json config = {{"vocab_size", 300},        {"hidden_size", 64},
                           {"intermediate_size", 160}, {"num_hidden_layers", 2},
                           {"num_attention_heads", 4}, {"max_position_embeddings", 128}};
  config.update(changes);
  const std::string folder = dir + "/model";
  fs::remove_all(folder);
  fs::create_directories(folder);
  test::write_text(folder + "/config.json", config.dump());
  return folder;
}

test::CommandResult run_generate(const std::string& folder, const std::string& dir,
                                 const std::string& options = "") {
  return test::run_gavamoe("generate --model " + folder + " --prompt hi " + options, dir);
}

void expect_one_line(const test::CommandResult& result, const std::string& part) {
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_NE(result.err.find(part), std::string::npos) << result.err;
}

TEST(CliModelLimits, HugeSizesAreOneLineNamingTheKey) {
  const std::string dir = test::scratch_dir();
  const auto start = std::chrono::steady_clock::now();
  std::string folder = config_folder(dir, {{"hidden_size", 1000000000000}});
  expect_one_line(run_generate(folder, dir),
                  folder + "/config.json: \"hidden_size\" is 1000000000000");
  folder = config_folder(dir, {{"num_hidden_layers", 1000000000}});
  expect_one_line(run_generate(folder, dir),
                  folder + "/config.json: \"num_hidden_layers\" is 1000000000, outside 1..1024");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(CliModelLimits, ModelLargerThanMemoryIsRefusedWithWhatItNeeds) {
  const std::string dir = test::scratch_dir();
  // In range, about 1.8 PiB of float32 weights.
  const std::string folder = config_folder(dir, {{"hidden_size", 131072},
                                                 {"intermediate_size", 1048576},
                                                 {"num_hidden_layers", 1024},
                                                 {"num_attention_heads", 1024}});
  const auto result = run_generate(folder, dir, "--decode beam --beams 8");
  expect_one_line(result, "generate: " + folder + " needs about ");
  EXPECT_NE(result.err.find("PiB of memory (weights "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(", work "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("is available on this machine"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace gavamoe
