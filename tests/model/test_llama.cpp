// Llama decoder against Hugging Face transformers: golden logits of LlamaForCausalLM on tiny
// random checkpoints (tests/golden/make_llama_golden.py), GQA with an untied head and MHA with
// a tied one; plus packed real tokens (shared prefixes included) against the padded batch,
// checkpoint save/reload and config validation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <vector>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

const char* const kGoldenModels[] = {"gqa_untied", "mha_tied"};

// Max |ours - golden| over the real (unpadded) positions of the golden batch.
double max_error_against_golden(const std::string& folder) {
  Llama model = load_llama(folder);
  SafetensorsReader golden(folder + "/logits.safetensors");
  const torch::Tensor ids = golden.load("input_ids");
  const torch::Tensor valid = golden.load("attention_mask").to(torch::kBool);
  const torch::Tensor expected = golden.load("logits");
  torch::NoGradGuard no_grad;
  const torch::Tensor positions = torch::arange(ids.size(1)).expand_as(ids);
  const torch::Tensor logits = model->head(model->hidden(model->embed(ids), positions, valid));
  const torch::Tensor error = (logits - expected).abs().amax(-1).masked_select(valid);
  // The unpadded first row through the plain causal path too.
  const torch::Tensor causal = model->forward(ids.slice(0, 0, 1));
  return std::max(error.max().item<double>(),
                  (causal - expected.slice(0, 0, 1)).abs().max().item<double>());
}

TEST(Llama, LogitsMatchTransformersGolden) {
  for (const char* name : kGoldenModels)
    EXPECT_LT(max_error_against_golden(test::source_path("tests/golden/llama/") + name), 1e-4)
        << name;
}

TEST(Llama, LogitsMatchFreshlyRegeneratedGolden) {
  const std::string python = test::venv_python();
  if (python.empty()) GTEST_SKIP() << "no test venv: regeneration skipped";
  const std::string dir = test::scratch_dir();
  const auto result =
      test::run_command(test::quote(python) + " " +
                            test::source_path("tests/golden/make_llama_golden.py") + " " + dir,
                        dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* name : kGoldenModels)
    EXPECT_LT(max_error_against_golden(dir + "/" + name), 1e-4) << name;
}

TEST(Llama, SavedCheckpointReloadsIdentically) {
  const std::string dir = test::scratch_dir();
  const Llama original = load_llama(test::source_path("tests/golden/llama/gqa_untied"));
  save_hf_checkpoint(original, dir + "/copy");
  const Llama copy = load_llama(dir + "/copy");
  const auto expected = original->named_parameters();
  for (const auto& item : copy->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), expected[item.key()])) << item.key();
}

TEST(Llama, LoadsInBFloat16) {
  const std::string folder = test::source_path("tests/golden/llama/mha_tied");
  Llama model = load_llama(folder, torch::kBFloat16);
  EXPECT_EQ(model->embed_tokens->weight.scalar_type(), torch::kBFloat16);
  SafetensorsReader golden(folder + "/logits.safetensors");
  torch::NoGradGuard no_grad;
  const torch::Tensor ids = golden.load("input_ids").slice(0, 0, 1);
  const torch::Tensor logits = model->forward(ids).to(torch::kFloat32);
  const torch::Tensor expected = golden.load("logits").slice(0, 0, 1);
  EXPECT_LT((logits - expected).abs().max().item<double>(), 0.1);
}

TEST(Llama, FromScratchInitIsSeeded) {
  LlamaConfig config =
      LlamaConfig::load(test::source_path("tests/golden/llama/gqa_untied/config.json"));
  Llama a(config), b(config);
  a->init_weights(7);
  b->init_weights(7);
  EXPECT_TRUE(torch::equal(a->layers[0]->named_parameters()["self_attn.q_proj.weight"],
                           b->layers[0]->named_parameters()["self_attn.q_proj.weight"]));
  EXPECT_NEAR(a->embed_tokens->weight.std().item<double>(), 0.02, 0.002);
}

// packed_hidden runs the per-token blocks on the real tokens only: its rows are those of the
// masked padded forward at the real positions, gradients included, with and without
// recomputation in backward, and with rows sharing their common prefixes (input keys: rows 0
// and 3 agree on 3 tokens, row 4 is row 1's first 5, rows 1 and 5 are the same); left-padded
// rows are refused.
TEST(Llama, PackedHiddenEqualsThePaddedBatchAtRealTokens) {
  Llama model = load_llama(test::source_path("tests/golden/llama/gqa_untied"));
  const torch::Tensor ids = torch::tensor({{5, 9, 33, 2, 0, 0, 0},
                                           {7, 8, 9, 10, 11, 12, 13},
                                           {41, 0, 0, 0, 0, 0, 0},
                                           {5, 9, 33, 60, 61, 0, 0},
                                           {7, 8, 9, 10, 11, 0, 0},
                                           {7, 8, 9, 10, 11, 12, 13}});
  const torch::Tensor lengths = torch::tensor({4, 7, 1, 5, 5, 7});
  const torch::Tensor valid = torch::arange(7).unsqueeze(0) < lengths.unsqueeze(1);
  const torch::Tensor positions = torch::arange(7).expand_as(ids);
  const torch::Tensor weights = torch::randn({valid.sum().item<int64_t>(), 64});
  const torch::Tensor keys = input_keys(ids, {});
  ASSERT_EQ(pack_tokens(valid, {}, keys).tokens.size(0), 4 + 7 + 1 + 2);  // of 29 real
  auto run = [&](bool packed, const torch::Tensor& share) {
    model->zero_grad();
    const torch::Tensor embeddings = model->embed(ids);
    const torch::Tensor hidden = packed
                                     ? model->packed_hidden(embeddings, valid, {}, share)
                                     : model->hidden(embeddings, positions, valid).index({valid});
    (hidden * weights).sum().backward();
    return std::pair{
        hidden.detach(),
        model->layers[0]->named_parameters()["self_attn.q_proj.weight"].grad().clone()};
  };
  const auto [expected, expected_grad] = run(false, {});
  for (const bool recompute : {false, true}) {
    for (const bool share : {false, true}) {
      model->gradient_checkpointing = recompute;
      const auto [hidden, grad] = run(true, share ? keys : torch::Tensor());
      ASSERT_EQ(hidden.sizes(), expected.sizes());
      EXPECT_LT((hidden - expected).abs().max().item<double>(), 1e-5) << recompute << share;
      EXPECT_LT((grad - expected_grad).abs().max().item<double>(),
                1e-5 * expected_grad.abs().max().item<double>())
          << recompute << share;
    }
  }
  const torch::Tensor left_padded = valid.flip(1);
  EXPECT_THROW(model->packed_hidden(model->embed(ids), left_padded), c10::Error);
}

// pack_tokens against a brute force on random batches: a token is computed for each distinct
// (routing, inputs up to and including it, position); every real slot reads the token of its
// class, computed at its own position in the first row of that class; without keys every real
// token is its own, in row-major order. Placeholder slots (input_keys) are never shared.
TEST(Llama, PackTokensComputesEachDistinctPrefixOnce) {
  torch::manual_seed(11);
  constexpr int64_t kPlaceholder = 99;
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t b = 7, t = 9;
    // Few token values and a common opening make equal prefixes frequent.
    torch::Tensor ids = torch::randint(0, 3, {b, t}, torch::kInt64);
    ids.slice(1, 0, 3).fill_(4);
    ids.index_put_({torch::rand({b, t}) < 0.05}, kPlaceholder);
    const torch::Tensor lengths = torch::randint(1, t + 1, {b}, torch::kInt64);
    const torch::Tensor valid = torch::arange(t).unsqueeze(0) < lengths.unsqueeze(1);
    Routing routing;
    routing.clusters = torch::randint(0, 2, {b}, torch::kInt64);
    const TokenPacking plain = pack_tokens(valid, routing);
    EXPECT_TRUE(torch::equal(plain.tokens, valid.reshape(-1).nonzero().squeeze(1)));
    EXPECT_TRUE(torch::equal(plain.real, torch::arange(plain.tokens.size(0))));

    const TokenPacking packing = pack_tokens(valid, routing, input_keys(ids, {kPlaceholder}));
    std::map<std::vector<int64_t>, int64_t> first_slot;  // class -> slot computing it
    int64_t real_index = 0;
    for (int64_t r = 0; r < b; ++r) {
      std::vector<int64_t> prefix = {routing.clusters[r].item<int64_t>()};
      bool row_specific = false;
      for (int64_t s = 0; s < lengths[r].item<int64_t>(); ++s) {
        const int64_t id = ids[r][s].item<int64_t>();
        row_specific = row_specific || id == kPlaceholder;
        prefix.push_back(row_specific ? -1000 - r : id);
        const int64_t slot = r * t + s;
        const auto [it, fresh] = first_slot.emplace(prefix, slot);
        const int64_t token = packing.source[slot].item<int64_t>();
        EXPECT_EQ(packing.tokens[token].item<int64_t>(), it->second) << trial << " " << slot;
        EXPECT_EQ(packing.real[real_index++].item<int64_t>(), token);
      }
    }
    EXPECT_EQ(packing.tokens.size(0), static_cast<int64_t>(first_slot.size())) << trial;
    EXPECT_EQ(packing.real.size(0), valid.sum().item<int64_t>());
  }
}

TEST(LlamaConfig, MissingOrUnsupportedKeysNameFileAndKey) {
  const std::string dir = test::scratch_dir();
  nlohmann::json config =
      LlamaConfig::load(test::source_path("tests/golden/llama/gqa_untied/config.json")).to_json();
  EXPECT_EQ(LlamaConfig::from_json(config, "c.json").num_key_value_heads, 2);
  EXPECT_EQ(LlamaConfig::from_json(config, "c.json").rope_theta, 500000.0);
  auto expect_error = [&](nlohmann::json broken, const std::string& what) {
    test::write_text(dir + "/config.json", broken.dump());
    try {
      LlamaConfig::load(dir + "/config.json");
      ADD_FAILURE() << what << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(dir + "/config.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  nlohmann::json missing = config;
  missing.erase("hidden_size");
  expect_error(missing, "hidden_size");
  nlohmann::json scaled = config;
  scaled["rope_scaling"] = {{"rope_type", "llama3"}};
  expect_error(scaled, "rope_scaling");
  nlohmann::json eos_list = config;
  eos_list["eos_token_id"] = {2, 5};
  EXPECT_EQ(LlamaConfig::from_json(eos_list, "c.json").eos_token_ids, (std::vector<int>{2, 5}));
}

}  // namespace
}  // namespace gavamoe
