// Generation: KV-cached decoding equals full recomputation, a batch of mixed-length prompts
// equals one-by-one decoding, beam search with one beam equals greedy, sampling is seeded,
// top-k 1 equals greedy, bfloat16/float16 follow float32; with an explainer's placeholders and
// routing the same hold, rows and beams keeping their own vectors; on a GPU, CUDA decodes as the
// CPU does. Model: the tiny GQA checkpoint of the Llama golden test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "gavamoe/data/synth.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

Llama tiny_model() { return load_llama(test::source_path("tests/golden/llama/gqa_untied")); }

const std::vector<std::vector<int>> kPrompts = {
    {1, 17, 250, 33, 9, 120}, {1, 5}, {1, 77, 78, 79, 80, 81, 82, 83, 84}};

TEST(Generation, CachedEqualsRecomputed) {
  Llama model = tiny_model();
  GenerationOptions options;
  options.max_new_tokens = 12;
  options.keep_logits = true;
  const GenerationResult cached = generate(model, kPrompts, options);
  options.use_cache = false;
  const GenerationResult recomputed = generate(model, kPrompts, options);
  EXPECT_EQ(cached.tokens, recomputed.tokens);
  ASSERT_EQ(cached.step_logits.size(), recomputed.step_logits.size());
  for (size_t step = 0; step < cached.step_logits.size(); ++step)
    EXPECT_LT((cached.step_logits[step] - recomputed.step_logits[step]).abs().max().item<double>(),
              1e-5)
        << "step " << step;
}

TEST(Generation, BatchEqualsOneByOne) {
  Llama model = tiny_model();
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.stop_tokens = {2};
  const GenerationResult batched = generate(model, kPrompts, options);
  for (size_t i = 0; i < kPrompts.size(); ++i)
    EXPECT_EQ(batched.tokens[i], generate(model, {kPrompts[i]}, options).tokens[0]) << i;
}

TEST(Generation, StopTokenEndsRowAndIsKept) {
  Llama model = tiny_model();
  GenerationOptions options;
  options.max_new_tokens = 8;
  const std::vector<int> free_run = generate(model, {kPrompts[0]}, options).tokens[0];
  options.stop_tokens = {free_run[2]};
  const std::vector<int> stopped = generate(model, {kPrompts[0]}, options).tokens[0];
  const auto first = std::find(free_run.begin(), free_run.end(), free_run[2]);
  EXPECT_EQ(stopped, std::vector<int>(free_run.begin(), first + 1));
}

TEST(Generation, OneBeamEqualsGreedy) {
  Llama model = tiny_model();
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.stop_tokens = {2};
  options.num_beams = 1;
  EXPECT_EQ(beam_search(model, kPrompts, options).tokens,
            generate(model, kPrompts, options).tokens);
  options.num_beams = 3;
  for (const auto& tokens : generate(model, kPrompts, options).tokens) {
    EXPECT_GT(tokens.size(), 0u);
    EXPECT_LE(tokens.size(), 10u);
  }
}

TEST(Generation, SeededSamplingIsReproducibleAndTopKOneIsGreedy) {
  Llama model = tiny_model();
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.sampling.sample = true;
  options.sampling.temperature = 1.5;
  options.seed = 42;
  const auto first = generate(model, kPrompts, options).tokens;
  EXPECT_EQ(first, generate(model, kPrompts, options).tokens);
  options.seed = 43;
  EXPECT_NE(first, generate(model, kPrompts, options).tokens);
  options.sampling.top_k = 1;
  GenerationOptions greedy;
  greedy.max_new_tokens = 10;
  EXPECT_EQ(generate(model, kPrompts, options).tokens, generate(model, kPrompts, greedy).tokens);
}

// bfloat16 and float16 against float32 on the same weights: teacher-forced logits of the
// batch within 5% of the logit scale, and greedy continuations mostly the same tokens.
TEST(Generation, ReducedPrecisionFollowsFloat32) {
  const std::string folder = test::source_path("tests/golden/llama/gqa_untied");
  Llama reference = load_llama(folder);
  GenerationOptions options;
  options.max_new_tokens = 12;
  const auto expected_tokens = generate(reference, kPrompts, options).tokens;
  const torch::Tensor ids = torch::tensor({{1, 17, 250, 33, 9, 120, 77, 78}}, torch::kInt64);
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = reference->forward(ids);
  const double scale = expected.abs().max().item<double>();
  for (torch::Dtype dtype : {torch::kBFloat16, torch::kHalf}) {
    Llama model = load_llama(folder, dtype);
    const torch::Tensor logits = model->forward(ids);
    EXPECT_EQ(logits.scalar_type(), dtype);
    EXPECT_LT((logits.to(torch::kFloat32) - expected).abs().max().item<double>() / scale, 5e-2)
        << dtype;
    const auto tokens = generate(model, kPrompts, options).tokens;
    size_t same = 0, total = 0;
    for (size_t row = 0; row < tokens.size(); ++row)
      for (size_t i = 0; i < expected_tokens[row].size(); ++i, ++total)
        same += i < tokens[row].size() && tokens[row][i] == expected_tokens[row][i];
    EXPECT_GE(static_cast<double>(same) / static_cast<double>(total), 0.8) << dtype;
  }
}

// An explainer on the same checkpoint (virtual placeholder ids 300 and 301, LoRA B non-zero)
// and its prompts: per-row placeholder vectors and clusters.
struct ExplainerCase {
  Explainer explainer{nullptr};
  std::vector<std::vector<int>> prompts = {
      {1, 17, 301, 33, 300, 9}, {1, 301, 300}, {1, 77, 78, 79, 301, 80, 300, 81}};
  Routing routing;
  Placeholders placeholders;
};

ExplainerCase explainer_case() {
  ExplainerOptions options;
  options.n_experts = 4;
  options.expert_width = 24;
  options.n_clusters = 3;
  options.pretrained_base = true;
  options.user_token = 300;
  options.item_token = 301;
  torch::manual_seed(2);
  ExplainerCase c;
  c.explainer = Explainer(tiny_model(), options, torch::randn({4, 8}), torch::randn({4, 8}));
  {
    torch::NoGradGuard no_grad;
    for (auto& item : c.explainer->named_parameters())
      if (item.key().find("lora_B") != std::string::npos) item.value().normal_(0, 0.2);
  }
  c.explainer->eval();
  c.routing.clusters = torch::tensor({0, 2, 1});
  torch::NoGradGuard no_grad;
  c.placeholders = c.explainer->placeholders(torch::tensor({0, 3, 1}), torch::tensor({2, 0, 1}));
  return c;
}

TEST(Generation, PlaceholdersCachedEqualsRecomputedAndBatchEqualsOneByOne) {
  ExplainerCase c = explainer_case();
  Llama& model = c.explainer->llama;
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.keep_logits = true;
  options.sampling.repetition_penalty = 1.3;  // the history holds ids beyond the vocabulary
  const GenerationResult cached = generate(model, c.prompts, options, c.routing, c.placeholders);
  options.use_cache = false;
  const GenerationResult recomputed =
      generate(model, c.prompts, options, c.routing, c.placeholders);
  EXPECT_EQ(cached.tokens, recomputed.tokens);
  for (size_t step = 0; step < cached.step_logits.size(); ++step)
    EXPECT_LT((cached.step_logits[step] - recomputed.step_logits[step]).abs().max().item<double>(),
              1e-5)
        << "step " << step;
  options.keep_logits = false;
  for (size_t i = 0; i < c.prompts.size(); ++i) {
    const torch::Tensor row = torch::tensor({static_cast<int64_t>(i)});
    const Routing routing{c.routing.clusters.index_select(0, row), {}};
    const Placeholders placeholders{c.placeholders.tokens,
                                    c.placeholders.vectors.index_select(0, row)};
    EXPECT_EQ(generate(model, {c.prompts[i]}, options, routing, placeholders).tokens[0],
              cached.tokens[i])
        << i;
  }
  // The vectors are what the model reads at the placeholders.
  options.keep_logits = true;
  const Placeholders swapped{c.placeholders.tokens, c.placeholders.vectors.flip(0)};
  const auto other = generate(model, c.prompts, options, c.routing, swapped);
  EXPECT_GT((other.step_logits[0] - cached.step_logits[0]).abs().max().item<double>(), 1e-3);
}

TEST(Generation, PlaceholdersFollowTheirBeams) {
  ExplainerCase c = explainer_case();
  Llama& model = c.explainer->llama;
  GenerationOptions options;
  options.max_new_tokens = 8;
  options.stop_tokens = {2};
  options.num_beams = 1;
  EXPECT_EQ(beam_search(model, c.prompts, options, c.routing, c.placeholders).tokens,
            generate(model, c.prompts, options, c.routing, c.placeholders).tokens);
  options.num_beams = 3;
  const auto beams = generate(model, c.prompts, options, c.routing, c.placeholders).tokens;
  for (size_t i = 0; i < c.prompts.size(); ++i) {
    EXPECT_GT(beams[i].size(), 0u);
    const torch::Tensor row = torch::tensor({static_cast<int64_t>(i)});
    const Placeholders placeholders{c.placeholders.tokens,
                                    c.placeholders.vectors.index_select(0, row)};
    const Routing routing{c.routing.clusters.index_select(0, row), {}};
    EXPECT_EQ(generate(model, {c.prompts[i]}, options, routing, placeholders).tokens[0], beams[i]);
    options.use_cache = false;
    EXPECT_EQ(generate(model, {c.prompts[i]}, options, routing, placeholders).tokens[0], beams[i]);
    options.use_cache = true;
  }
}

// `gavamoe generate` on an exported folder routes by --cluster like the in-process explainer.
TEST(Generation, GenerateCommandRunsAnExportedExplainer) {
  const std::string dir = test::scratch_dir();
  ExplainerCase c = explainer_case();
  c.explainer->export_hf(dir + "/export");
  SynthOptions synth;
  synth.records = 800;
  std::vector<std::string> sentences;
  for (const Record& record : make_synthetic_dataset(synth).records)
    sentences.push_back(record.explanation);
  TokenizerTrainOptions tokenizer;
  tokenizer.vocab_size = 300;  // the model's
  train_tokenizer(sentences, tokenizer, dir + "/export/tokenizer.model");

  const std::string command =
      "generate --model " + dir + "/export --prompt 'the tone is warm' --max-new-tokens 6 --json";
  const auto result = test::run_gavamoe(command + " --cluster 1", dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json line = nlohmann::json::parse(result.out);
  const auto prompt = line.at("prompt_ids").get<std::vector<int>>();
  GenerationOptions options;
  options.max_new_tokens = 6;
  options.stop_tokens = {2};
  const Routing routing{torch::tensor({int64_t{1}}), {}};
  EXPECT_EQ(line.at("output_ids").get<std::vector<int>>(),
            generate(c.explainer->llama, {prompt}, options, routing).tokens[0]);
  const auto bad = test::run_gavamoe(command + " --cluster 3", dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--cluster 3"), std::string::npos) << bad.err;
}

// On a GPU (skipped without one; scripts/gpu-check.sh runs it): the explainer case decodes on
// CUDA to the CPU's tokens, greedy and with 3 beams, with logits equal to float32 rounding.
TEST(Generation, CudaFollowsCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  ExplainerCase c = explainer_case();
  GenerationOptions options;
  options.max_new_tokens = 12;
  options.keep_logits = true;
  const GenerationResult cpu =
      generate(c.explainer->llama, c.prompts, options, c.routing, c.placeholders);
  GenerationOptions beams = options;
  beams.num_beams = 3;
  beams.keep_logits = false;
  const auto cpu_beams =
      generate(c.explainer->llama, c.prompts, beams, c.routing, c.placeholders).tokens;

  c.explainer->to(torch::kCUDA);
  const Routing routing{c.routing.clusters.cuda(), {}};
  const Placeholders placeholders{c.placeholders.tokens, c.placeholders.vectors.cuda()};
  const GenerationResult gpu =
      generate(c.explainer->llama, c.prompts, options, routing, placeholders);
  EXPECT_EQ(gpu.tokens, cpu.tokens);
  ASSERT_EQ(gpu.step_logits.size(), cpu.step_logits.size());
  for (size_t step = 0; step < cpu.step_logits.size(); ++step) {
    EXPECT_TRUE(gpu.step_logits[step].is_cuda());
    EXPECT_LT((gpu.step_logits[step].cpu() - cpu.step_logits[step]).abs().max().item<double>(),
              1e-4)
        << "step " << step;
  }
  EXPECT_EQ(generate(c.explainer->llama, c.prompts, beams, routing, placeholders).tokens,
            cpu_beams);
}

TEST(Sampler, RepetitionPenaltyIgnoresIdsOutsideTheVocabulary) {
  Sampler sampler({false, 1.0, 0, 1.0, 2.0}, 1);
  const torch::Tensor logits = torch::tensor({{1.0f, -1.0f, 3.0f}});
  const torch::Tensor out = sampler.process(logits, torch::tensor({{-1, 1, 3, 7}}));
  EXPECT_TRUE(torch::allclose(out, torch::tensor({{1.0f, -2.0f, 3.0f}})));
}

TEST(Sampler, TopPKeepsSmallestSetReachingP) {
  Sampler sampler({true, 1.0, 0, 0.7, 1.0}, 1);
  const torch::Tensor logits = torch::tensor({0.5f, 0.3f, 0.15f, 0.05f}).log().unsqueeze(0);
  const torch::Tensor kept = sampler.process(logits, {}).isfinite();
  EXPECT_TRUE(torch::equal(kept, torch::tensor({true, true, false, false}).unsqueeze(0)));
}

TEST(Sampler, RepetitionPenaltyFollowsHfRule) {
  Sampler sampler({false, 1.0, 0, 1.0, 2.0}, 1);
  const torch::Tensor logits = torch::tensor({{1.0f, -1.0f, 3.0f}});
  const torch::Tensor out = sampler.process(logits, torch::tensor({{0, 1}}));
  EXPECT_TRUE(torch::allclose(out, torch::tensor({{0.5f, -2.0f, 3.0f}})));
}

}  // namespace
}  // namespace gavamoe
