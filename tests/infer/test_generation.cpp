// Generation: KV-cached decoding equals full recomputation, a batch of mixed-length prompts
// equals one-by-one decoding, beam search with one beam equals greedy, sampling is seeded,
// top-k 1 equals greedy, bfloat16/float16 follow float32. Model: the tiny GQA checkpoint of the
// Llama golden test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
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
