// Tiny random Llama GGUF files (written by gguf-py's GGUFWriter in
// tests/golden/make_tiny_gguf.py: every block type, GQA, with and without output.weight) load
// into a Llama whose logits equal transformers' on the same files within 1e-4; `gavamoe export
// --model FILE.gguf` turns them into HF folders that gavamoe and transformers load as the same
// model.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/gguf.hpp"
#include "gavamoe/model/gguf_llama.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

// The script's output folder, made once per test run; "" with `skip_reason` set when the venv
// cannot make it.
struct TinyModels {
  std::string dir;
  std::string skip_reason;
};

const TinyModels& tiny_models() {
  static const TinyModels models = [] {
    TinyModels result;
    const std::string python = test::venv_python();
    if (python.empty()) {
      result.skip_reason = "no venv python (GAVAMOE_PYTHON): transformers check skipped";
      return result;
    }
    const std::string dir = std::string(GAVAMOE_TEST_SCRATCH) + "/gguf-tiny-models." +
                            std::to_string(::getpid());  // one per parallel test process
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const test::CommandResult made = test::run_command(
        python + " " + test::source_path("tests/golden/make_tiny_gguf.py") + " " + dir, dir);
    if (made.exit_code != 0) {
      result.skip_reason = made.err.find("No module named") != std::string::npos
                               ? "the venv lacks gguf/transformers/accelerate: " + made.err
                               : "";
      if (result.skip_reason.empty()) ADD_FAILURE() << made.err;
      if (result.skip_reason.empty()) result.skip_reason = "make_tiny_gguf.py failed";
      return result;
    }
    result.dir = dir;
    return result;
  }();
  return models;
}

torch::Tensor read_floats(const std::string& path, std::vector<int64_t> shape) {
  const std::string bytes = test::read_text(path);
  torch::Tensor values = torch::empty(shape, torch::kFloat32);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(values.numel() * 4)) << path;
  std::memcpy(values.data_ptr<float>(), bytes.data(),
              std::min<size_t>(bytes.size(), values.nbytes()));
  return values;
}

class GgufLlama : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufLlama, LogitsEqualTransformersOnTheSameFile) {
  const TinyModels& models = tiny_models();
  if (models.dir.empty()) GTEST_SKIP() << models.skip_reason;
  const std::string name = GetParam();
  const nlohmann::json meta =
      nlohmann::json::parse(test::read_text(models.dir + "/" + name + ".json"));
  const GgufFile file(models.dir + "/" + name + ".gguf");
  const LlamaConfig config = gguf_llama_config(file);
  EXPECT_EQ(config.hidden_size, 256);
  EXPECT_EQ(config.num_hidden_layers, 2);
  EXPECT_EQ(config.num_attention_heads, 4);
  EXPECT_EQ(config.num_key_value_heads, meta["config"]["kv_heads"].get<int64_t>());
  EXPECT_EQ(config.head_dim, 64);
  EXPECT_EQ(config.vocab_size, 320);
  EXPECT_EQ(config.tie_word_embeddings, meta["config"]["tied"].get<bool>());
  EXPECT_EQ(config.tie_word_embeddings, meta["config"]["tie_word_embeddings"].get<bool>());
  EXPECT_EQ(config.bos_token_id, 1);
  EXPECT_EQ(config.eos_token_ids, std::vector<int>{2});

  Llama model = load_gguf_llama(file);
  EXPECT_EQ(model->lm_head.is_empty(), config.tie_word_embeddings);
  torch::NoGradGuard no_grad;
  const auto& inputs = meta["inputs"];
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int64_t> ids = inputs[i].get<std::vector<int64_t>>();
    const torch::Tensor logits = model->forward(torch::tensor(ids).unsqueeze(0))[0];  // [T, V]
    const torch::Tensor expected =
        read_floats(models.dir + "/" + name + "." + std::to_string(i) + ".f32",
                    {static_cast<int64_t>(ids.size()), 320});
    const double difference = (logits - expected).abs().max().item<double>();
    RecordProperty(name + "_max_abs_diff_" + std::to_string(i), std::to_string(difference));
    std::printf("%s input %zu: max |logit - transformers| = %.3g\n", name.c_str(), i, difference);
    EXPECT_LT(difference, 1e-4) << "input " << i;
  }
}

TEST_P(GgufLlama, ReducedPrecisionLoadIsClose) {
  const TinyModels& models = tiny_models();
  if (models.dir.empty()) GTEST_SKIP() << models.skip_reason;
  const GgufFile file(models.dir + "/" + GetParam() + ".gguf");
  Llama full = load_gguf_llama(file);
  Llama half = load_gguf_llama(file, torch::kBFloat16);
  EXPECT_EQ(half->embed_tokens->weight.scalar_type(), torch::kBFloat16);
  for (const auto& item : full->named_parameters())
    EXPECT_TRUE(
        torch::equal(item.value().to(torch::kBFloat16), half->named_parameters()[item.key()]))
        << item.key();
}

// export --model FILE.gguf writes an HF folder: gavamoe reads back the same tokenizer and
// logits, and transformers, loading the folder without any GGUF, gives the GGUF's logits.
TEST_P(GgufLlama, ExportedFolderIsTheSameModelForTransformers) {
  const TinyModels& models = tiny_models();
  if (models.dir.empty()) GTEST_SKIP() << models.skip_reason;
  const std::string name = GetParam();
  const std::string dir = test::scratch_dir(), hf = dir + "/hf";
  const std::string gguf = models.dir + "/" + name + ".gguf";
  const auto exported = test::run_gavamoe("export --model " + gguf + " --out " + hf, dir);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  for (const char* file :
       {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    EXPECT_TRUE(std::filesystem::exists(hf + "/" + file)) << file;

  const PretrainedModel original = load_pretrained(gguf);
  PretrainedModel copy = load_pretrained(hf);
  EXPECT_FALSE(copy.gguf);
  EXPECT_EQ(copy.config.tie_word_embeddings, original.config.tie_word_embeddings);
  const std::string text = "<|im_start|>user\nhello there, caf\xc3\xa9 42<|im_end|>\n";
  EXPECT_EQ(copy.tokenizer->encode(text), original.tokenizer->encode(text));
  EXPECT_EQ(copy.tokenizer->chat_template(), original.tokenizer->chat_template());
  EXPECT_EQ(copy.tokenizer->adds_bos(), original.tokenizer->adds_bos());

  const nlohmann::json meta =
      nlohmann::json::parse(test::read_text(models.dir + "/" + name + ".json"));
  const auto& inputs = meta["inputs"];
  test::write_text(dir + "/inputs.json", inputs.dump());
  const auto ran = test::run_command(test::venv_python() + " " +
                                         test::source_path("tests/golden/hf_folder_logits.py") +
                                         " " + hf + " " + dir + "/inputs.json " + dir + "/hf",
                                     dir);
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int64_t> ids = inputs[i].get<std::vector<int64_t>>();
    const std::vector<int64_t> shape = {static_cast<int64_t>(ids.size()), 320};
    const torch::Tensor on_gguf =
        read_floats(models.dir + "/" + name + "." + std::to_string(i) + ".f32", shape);
    const torch::Tensor transformers_on_folder =
        read_floats(dir + "/hf." + std::to_string(i) + ".f32", shape);
    const torch::Tensor gavamoe_on_folder = copy.model->forward(torch::tensor(ids).unsqueeze(0))[0];
    EXPECT_LT((transformers_on_folder - on_gguf).abs().max().item<double>(), 1e-4) << i;
    EXPECT_LT((gavamoe_on_folder - on_gguf).abs().max().item<double>(), 1e-4) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, GgufLlama, ::testing::Values("untied", "tied"));

TEST(GgufTensorNames, MapToTheHuggingFaceLayout) {
  EXPECT_EQ(gguf_tensor_name("embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("layers.12.self_attn.o_proj.weight"), "blk.12.attn_output.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.mlp.down_proj.weight"), "blk.0.ffn_down.weight");
  EXPECT_EQ(gguf_tensor_name("layers.3.post_attention_layernorm.weight"), "blk.3.ffn_norm.weight");
  EXPECT_EQ(gguf_tensor_name("lm_head.weight"), "output.weight");
  EXPECT_THROW(gguf_tensor_name("layers.0.mlp.experts.0.weight"), Error);
}

}  // namespace
}  // namespace gavamoe
