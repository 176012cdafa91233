// `gavamoe generate --json` on the tiny golden Llama folder with a SentencePiece model trained
// here: one JSON line on stdout, BOS first, output ids consistent with --max-new-tokens;
// --dtype bfloat16 runs, an unknown dtype is rejected.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

// A copy of the golden folder plus a 300-piece tokenizer.model (the model's vocabulary size).
std::string model_folder(const std::string& dir) {
  const std::string folder = dir + "/model";
  fs::create_directories(folder);
  for (const char* file : {"config.json", "model.safetensors"})
    fs::copy_file(test::source_path("tests/golden/llama/gqa_untied/") + file, folder + "/" + file);
  std::string corpus;
  for (int i = 0; i < 200; ++i)
    corpus += "the room was clean and the staff were friendly near the station " +
              std::to_string(i) + "\nbreakfast was good but the bed was small\n";
  test::write_text(dir + "/corpus.txt", corpus);
  const auto trained =
      test::run_command("spm_train --input=" + dir + "/corpus.txt --model_prefix=" + folder +
                            "/tokenizer --vocab_size=300 --model_type=bpe --byte_fallback=true"
                            " --hard_vocab_limit=false --minloglevel=2",
                        dir);
  EXPECT_EQ(trained.exit_code, 0) << trained.err;
  return folder;
}

TEST(CliGenerate, JsonLineWithPromptAndOutputIds) {
  const std::string dir = test::scratch_dir();
  const std::string folder = model_folder(dir);
  const auto result = test::run_gavamoe(
      "generate --model " + folder + " --prompt 'the room was clean' --max-new-tokens 5 --json",
      dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 1) << result.out;
  const nlohmann::json line = nlohmann::json::parse(result.out);
  const auto prompt_ids = line.at("prompt_ids").get<std::vector<int>>();
  const auto output_ids = line.at("output_ids").get<std::vector<int>>();
  ASSERT_GT(prompt_ids.size(), 1u);
  EXPECT_EQ(prompt_ids[0], 1);  // BOS
  EXPECT_GE(output_ids.size(), 1u);
  EXPECT_LE(output_ids.size(), 5u);
  EXPECT_TRUE(line.at("text").is_string());

  const auto again = test::run_gavamoe(
      "generate --model " + folder + " --prompt 'the room was clean' --max-new-tokens 5 --json",
      dir);
  EXPECT_EQ(again.out, result.out);  // greedy is deterministic
}

TEST(CliGenerate, RunsInBFloat16AndRejectsUnknownDtype) {
  const std::string dir = test::scratch_dir();
  const std::string folder = model_folder(dir);
  const std::string args = "generate --model " + folder + " --prompt 'the room' --max-new-tokens 4";
  const auto result = test::run_gavamoe(args + " --dtype bfloat16 --json", dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json line = nlohmann::json::parse(result.out);
  const auto output_ids = line.at("output_ids").get<std::vector<int>>();
  EXPECT_GE(output_ids.size(), 1u);
  EXPECT_LE(output_ids.size(), 4u);
  const auto rejected = test::run_gavamoe(args + " --dtype int8", dir);
  EXPECT_NE(rejected.exit_code, 0);
  EXPECT_TRUE(rejected.out.empty());
  EXPECT_NE(rejected.err.find("--dtype"), std::string::npos) << rejected.err;
}

TEST(CliGenerate, MissingModelIsOneErrorLine) {
  const std::string dir = test::scratch_dir();
  const auto result =
      test::run_gavamoe("generate --model " + dir + "/none --prompt hi --json", dir);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(result.out.empty());
  EXPECT_NE(result.err.find(dir + "/none"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace gavamoe
