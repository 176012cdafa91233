// Sharded Hugging Face checkpoints (model.safetensors.index.json + model-0000i-of-0000n
// shards): the tiny golden Llama split into shards, by this library and by transformers'
// save_pretrained(max_shard_size=...), loads to a model whose logits equal the unsharded one's;
// a broken index (missing shard, tensor absent from its shard, tensor absent from the index) is
// one error naming the file and the tensor.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

const std::string kGolden = "tests/golden/llama/gqa_untied";

std::string shard_name(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

// Writes `dir` as config.json + `count` shards (tensors dealt round-robin in name order) +
// the index, in the HF layout.
void write_sharded(const std::string& dir, size_t count) {
  fs::create_directories(dir);
  fs::copy_file(test::source_path(kGolden + "/config.json"), dir + "/config.json");
  SafetensorsReader whole(test::source_path(kGolden + "/model.safetensors"));
  std::vector<std::map<std::string, torch::Tensor>> shards(count);
  nlohmann::json index = {{"metadata", {{"total_size", 0}}},
                          {"weight_map", nlohmann::json::object()}};
  size_t next = 0, total_size = 0;
  for (const std::string& name : whole.names()) {
    const size_t shard = next++ % count;
    shards[shard][name] = whole.load(name);
    index["weight_map"][name] = shard_name(shard, count);
    total_size += whole.entry(name).end - whole.entry(name).begin;
  }
  index["metadata"]["total_size"] = total_size;
  for (size_t i = 0; i < count; ++i)
    write_safetensors(dir + "/" + shard_name(i, count), shards[i], {{"format", "pt"}});
  test::write_text(dir + "/model.safetensors.index.json", index.dump(2));
}

torch::Tensor logits_of(const std::string& dir) {
  Llama model = load_llama(dir);
  torch::NoGradGuard no_grad;
  return model->forward(torch::tensor({{1, 17, 250, 33, 9, 120, 7}}, torch::kInt64));
}

TEST(ShardedCheckpoint, WrittenHereLoadsLikeUnsharded) {
  const std::string dir = test::scratch_dir() + "/sharded";
  write_sharded(dir, 3);
  ASSERT_FALSE(fs::exists(dir + "/model.safetensors"));
  EXPECT_TRUE(torch::equal(logits_of(dir), logits_of(test::source_path(kGolden))));
}

TEST(ShardedCheckpoint, SavedByTransformersLoadsLikeUnsharded) {
  const std::string python = test::venv_python();
  if (python.empty()) GTEST_SKIP() << "no test venv: transformers sharding skipped";
  const std::string dir = test::scratch_dir() + "/sharded";
  const std::string script =
      "import sys\n"
      "from transformers import LlamaForCausalLM\n"
      "model = LlamaForCausalLM.from_pretrained(sys.argv[1])\n"
      "model.save_pretrained(sys.argv[2], max_shard_size='200KB')\n";
  const auto result =
      test::run_command(test::quote(python) + " -c " + test::quote(script) + " " +
                            test::quote(test::source_path(kGolden)) + " " + test::quote(dir),
                        test::scratch_dir());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors.index.json"));
  ASSERT_FALSE(fs::exists(dir + "/model.safetensors"));
  size_t shards = 0;
  for (const auto& file : fs::directory_iterator(dir))
    if (file.path().filename().string().rfind("model-", 0) == 0) ++shards;
  EXPECT_GE(shards, 2u);
  EXPECT_TRUE(torch::equal(logits_of(dir), logits_of(test::source_path(kGolden))));
}

// Loading `dir` fails with one error line that names `file` and `tensor`.
void expect_load_error(const std::string& dir, const std::string& file, const std::string& tensor) {
  try {
    load_llama(dir);
    ADD_FAILURE() << "broken checkpoint accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(file), std::string::npos) << message;
    EXPECT_NE(message.find("'" + tensor + "'"), std::string::npos) << message;
  }
}

nlohmann::json read_index(const std::string& dir) {
  return nlohmann::json::parse(test::read_text(dir + "/model.safetensors.index.json"));
}

void write_index(const std::string& dir, const nlohmann::json& index) {
  test::write_text(dir + "/model.safetensors.index.json", index.dump());
}

TEST(ShardedCheckpoint, MissingShardNamesShardAndTensor) {
  const std::string dir = test::scratch_dir() + "/sharded";
  write_sharded(dir, 2);
  // "lm_head.weight" is the first name, so it sits in the first shard.
  fs::remove(dir + "/" + shard_name(0, 2));
  expect_load_error(dir, dir + "/" + shard_name(0, 2), "lm_head.weight");
}

TEST(ShardedCheckpoint, TensorAbsentFromItsShardNamesShardAndTensor) {
  const std::string dir = test::scratch_dir() + "/sharded";
  write_sharded(dir, 2);
  nlohmann::json index = read_index(dir);
  const std::string tensor = "model.norm.weight";
  const std::string listed = index["weight_map"][tensor];
  const std::string other = listed == shard_name(0, 2) ? shard_name(1, 2) : shard_name(0, 2);
  index["weight_map"][tensor] = other;
  write_index(dir, index);
  expect_load_error(dir, dir + "/" + other, tensor);
}

TEST(ShardedCheckpoint, RequiredTensorAbsentFromIndexNamesIndexAndTensor) {
  const std::string dir = test::scratch_dir() + "/sharded";
  write_sharded(dir, 2);
  nlohmann::json index = read_index(dir);
  const std::string tensor = "model.layers.1.self_attn.k_proj.weight";
  index["weight_map"].erase(tensor);
  write_index(dir, index);
  expect_load_error(dir, dir + "/model.safetensors.index.json", tensor);
}

}  // namespace
}  // namespace gavamoe
