// Model sizes are checked before anything is allocated: configs (HF config.json and GGUF
// metadata) within generous bounds, an HF folder's config against its tensor shapes, the
// memory a model needs against what the machine has, and the VAE and recommender sizes. Each
// case is one gavamoe::Error naming the file or key, fast (tiny files written here).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/gguf.hpp"
#include "gavamoe/model/gguf_llama.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/memory_estimate.hpp"
#include "gavamoe/model/vae_gmm.hpp"
#include "model/test_gguf_builder.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

nlohmann::json tiny_config() {
  return {{"vocab_size", 16},
          {"hidden_size", 8},
          {"intermediate_size", 16},
          {"num_hidden_layers", 1},
          {"num_attention_heads", 2},
          {"num_key_value_heads", 1},
          {"max_position_embeddings", 32}};
}

// The error `make` throws, or "" (with a test failure) when it throws none.
template <typename F>
std::string error_of(F make) {
  try {
    make();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ModelLimits, ConfigSizesOutsideTheBoundsNameTheKey) {
  const std::pair<const char*, nlohmann::json> cases[] = {
      {"hidden_size", 1000000000000},
      {"num_hidden_layers", 1000000000},
      {"vocab_size", int64_t{1} << 40},
      {"intermediate_size", int64_t{1} << 30},
      {"num_key_value_heads", 100000},
      {"max_position_embeddings", int64_t{1} << 40},
      {"head_dim", 1000000}};
  for (const auto& [key, value] : cases) {
    nlohmann::json config = tiny_config();
    config[key] = value;
    const auto start = std::chrono::steady_clock::now();
    const std::string error = error_of([&] { LlamaConfig::from_json(config, "dir/config.json"); });
    EXPECT_TRUE(contains(error, "dir/config.json: \"" + std::string(key) + "\"")) << error;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << key;
  }
}

TEST(ModelLimits, HeadsMustDivideHiddenAndKvHeadsTheHeads) {
  nlohmann::json config = tiny_config();
  config["num_attention_heads"] = 3;
  config["num_key_value_heads"] = 3;
  EXPECT_TRUE(contains(error_of([&] { LlamaConfig::from_json(config, "c.json"); }),
                       "hidden_size (8) is not a multiple of num_attention_heads (3)"));
  config["head_dim"] = 4;  // an explicit head size need not be hidden / heads
  EXPECT_EQ(LlamaConfig::from_json(config, "c.json").head_dim, 4);
  config = tiny_config();
  config["num_key_value_heads"] = 3;
  EXPECT_TRUE(contains(error_of([&] { LlamaConfig::from_json(config, "c.json"); }),
                       "is not a multiple of \"num_key_value_heads\" (3)"));
  config = tiny_config();
  config["head_dim"] = 5;
  EXPECT_TRUE(contains(error_of([&] { LlamaConfig::from_json(config, "c.json"); }),
                       "\"head_dim\" (5) must be even"));
}

// A GGUF Llama header with F32 token embeddings of [vocab, hidden]: enough for
// gguf_llama_config and for the memory check, which come before any other tensor is read.
std::string gguf_file(uint32_t hidden, uint32_t vocab, uint32_t layers, uint32_t ff,
                      uint32_t heads) {
  test::GgufBuilder b;
  b.kv_string("general.architecture", "llama");
  b.kv_u32("llama.embedding_length", hidden);
  b.kv_u32("llama.block_count", layers);
  b.kv_u32("llama.feed_forward_length", ff);
  b.kv_u32("llama.attention.head_count", heads);
  b.kv_u32("llama.context_length", 64);
  b.tensor_f32("token_embd.weight", {hidden, vocab},
               std::vector<float>(static_cast<size_t>(hidden) * vocab, 0.0f));
  const std::string path = test::scratch_dir() + "/limits.gguf";
  test::write_text(path, b.bytes());
  return path;
}

TEST(ModelLimits, GgufSizesOutsideTheBoundsNameTheGgufKey) {
  const std::string layers = gguf_file(8, 4, 1000000000, 16, 2);
  EXPECT_TRUE(contains(error_of([&] { gguf_llama_config(GgufFile(layers)); }),
                       layers + ": \"llama.block_count\" is 1000000000, outside 1..1024"));
  const std::string wide = gguf_file(8, 4, 1, 1 << 30, 2);
  EXPECT_TRUE(contains(error_of([&] { gguf_llama_config(GgufFile(wide)); }),
                       "\"llama.feed_forward_length\" is 1073741824, outside 1..1048576"));
}

TEST(ModelLimits, GgufModelLargerThanMemoryIsRefusedBeforeBuilding) {
  // In range, but about 2 PiB of float32 weights: one vocabulary row keeps the file small.
  const std::string path = gguf_file(1 << 17, 1, 1024, 1 << 20, 1024);
  const std::string error = error_of([&] { load_gguf_llama(GgufFile(path)); });
  EXPECT_TRUE(contains(error, path + ": the model needs about ")) << error;
  EXPECT_TRUE(contains(error, " PiB of memory (weights ")) << error;
  EXPECT_TRUE(contains(error, "is available on this machine")) << error;
}

// An HF folder of a tiny random model of `config`.
std::string hf_folder(const nlohmann::json& config) {
  const std::string dir = test::scratch_dir() + "/limits-hf";
  std::filesystem::remove_all(dir);
  save_hf_checkpoint(make_llama(LlamaConfig::from_json(config, "tiny")), dir);
  return dir;
}

TEST(ModelLimits, HfConfigThatDoesNotDescribeTheTensorsNamesTheFirstMismatch) {
  const std::string dir = hf_folder(tiny_config());
  EXPECT_NO_THROW(load_llama(dir));
  nlohmann::json wider = nlohmann::json::parse(test::read_text(dir + "/config.json"));
  wider["intermediate_size"] = 32;
  test::write_text(dir + "/config.json", wider.dump());
  const std::string error = error_of([&] { load_llama(dir); });
  EXPECT_TRUE(contains(error, dir +
                                  "/model.safetensors: tensor "
                                  "'model.layers.0.mlp.down_proj.weight' has shape [8, 16] but " +
                                  dir + "/config.json implies [8, 32]"))
      << error;
  nlohmann::json deeper = wider;
  deeper["intermediate_size"] = 16;
  deeper["num_hidden_layers"] = 2;
  test::write_text(dir + "/config.json", deeper.dump());
  EXPECT_TRUE(contains(error_of([&] { load_llama(dir); }),
                       "no tensor 'model.layers.1.input_layernorm.weight' (the model needs it)"));
}

TEST(ModelLimits, TensorShapesAreTheModelsParameters) {
  for (bool tied : {false, true}) {
    nlohmann::json config = tiny_config();
    config["tie_word_embeddings"] = tied;
    config["head_dim"] = 6;
    const LlamaConfig llama_config = LlamaConfig::from_json(config, "tiny");
    const Llama model = make_llama(llama_config);
    std::map<std::string, std::vector<int64_t>> built;
    int64_t parameters = 0;
    for (const auto& item : model->named_parameters()) {
      built[hf_tensor_name(item.key())] = item.value().sizes().vec();
      parameters += item.value().numel();
    }
    EXPECT_EQ(llama_tensor_shapes(llama_config), built);
    EXPECT_EQ(llama_config.num_parameters(), parameters);
  }
}

TEST(ModelLimits, MemoryCheckSaysWhatIsNeededAndAvailable) {
  const auto available = available_memory(torch::kCPU);
  ASSERT_TRUE(available.has_value());
  EXPECT_GT(*available, 0);
  MemoryEstimate small;
  small.weights = 1024;
  EXPECT_NO_THROW(require_memory("small", small, torch::kCPU));
  MemoryEstimate huge;
  huge.weights = 1e18;
  huge.work = 3.0 * 1024 * 1024;
  const std::string error = error_of([&] { require_memory("m.gguf: x", huge, torch::kCPU); });
  EXPECT_TRUE(contains(error,
                       "m.gguf: x needs about 888.2 PiB of memory (weights 888.2 PiB, "
                       "work 3.0 MiB), but only "))
      << error;
  EXPECT_EQ(format_bytes(512), "512 bytes");
  EXPECT_EQ(format_bytes(1.5 * 1024 * 1024 * 1024), "1.5 GiB");
}

TEST(ModelLimits, GenerationEstimateGrowsWithBeamsAndLength) {
  const LlamaConfig config = LlamaConfig::from_json(tiny_config(), "tiny");
  const double one = generation_bytes(config, torch::kFloat32, 1, 16);
  EXPECT_GT(one, 0);
  EXPECT_GT(generation_bytes(config, torch::kFloat32, 4, 16), 3.9 * one);
  EXPECT_GT(generation_bytes(config, torch::kFloat32, 1, 32), one);
  EXPECT_LT(generation_bytes(config, torch::kBFloat16, 1, 16), one);
}

// A frozen bfloat16 base (train.base_dtype) counts 2 bytes per base weight; the experts stay
// float32 and what trains is the same.
TEST(ModelLimits, ExplainerEstimateCountsABfloat16BaseAtTwoBytes) {
  const LlamaConfig base = LlamaConfig::from_json(tiny_config(), "tiny");
  ExplainerOptions options;
  options.n_experts = 3;
  options.expert_width = 8;
  options.pretrained_base = true;
  const MemoryEstimate f32 =
      explainer_training_memory(base, options, torch::kFloat32, 2, 16, false);
  const MemoryEstimate bf16 =
      explainer_training_memory(base, options, torch::kBFloat16, 2, 16, false);
  EXPECT_DOUBLE_EQ(f32.weights - bf16.weights, 2.0 * static_cast<double>(base.num_parameters()));
  EXPECT_GT(bf16.weights, 2.0 * static_cast<double>(base.num_parameters()));  // + the experts
  EXPECT_DOUBLE_EQ(f32.training, bf16.training);
  EXPECT_DOUBLE_EQ(explainer_memory(base, options, torch::kFloat32).weights, f32.weights);
}

TEST(ModelLimits, VaeSizesOutsideTheBoundsNameTheKey) {
  VaeGmmOptions options;
  options.n_users = 3;
  options.n_items = 3;
  options.embedding_dim = int64_t{1} << 20;
  options.encoder_heads = 1;
  EXPECT_TRUE(contains(error_of([&] { VaeGmm vae(options); }),
                       "vae.embedding_dim is 1048576, outside 1..65536"));
  options.embedding_dim = 8;
  options.decoder_hidden = {16, int64_t{1} << 40};
  EXPECT_TRUE(contains(error_of([&] { VaeGmm vae(options); }), "vae.decoder_hidden is"));
}

}  // namespace
}  // namespace gavamoe
