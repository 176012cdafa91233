// SASRec and MF: SASRec's user vectors, scores and full-softmax loss agree with an independent
// PyTorch version of UniRec's code (sasrec_reference.py, float64) on the same weights; the
// last-position shortcut of the final layer changes nothing; padding and future items do not
// reach the user vector; the parameter names are UniRec's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <set>

#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/rec/sasrec.hpp"
#include "model/venv_python.hpp"
#include "rec_fixtures.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

torch::Tensor random_histories(int64_t B, int64_t L, int64_t n_items, uint64_t seed) {
  torch::manual_seed(seed);
  auto seq = torch::randint(1, n_items, {B, L}, torch::kLong);
  // Left padding of varying length (row b has b % L padding ids; row 0 none).
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < b % L; ++l) seq[b][l] = 0;
  return seq;
}

TEST(Sasrec, MatchesThePyTorchReference) {
  const std::string python = test::venv_python();
  if (python.empty()) GTEST_SKIP() << "no test venv: PyTorch cross-check skipped";
  const std::string dir = test::scratch_dir();
  const int64_t M = 40;
  auto model = test::random_sasrec(M, 3);
  const auto seq = random_histories(6, 5, M, 4);
  const auto target = torch::tensor({3, 1, 39, 7, 7, 20}, torch::kLong);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& p : model->named_parameters()) weights[p.key()] = p.value().detach();
  write_safetensors(dir + "/weights.safetensors", weights);
  write_safetensors(dir + "/inputs.safetensors", {{"seq", seq}, {"target", target}});
  test::write_text(dir + "/config.json",
                   nlohmann::json{{"heads", 4}, {"eps", 1e-10}, {"layers", 2}}.dump());
  const auto run = test::run_command(
      test::quote(python) + " " + test::source_path("tests/rec/sasrec_reference.py") + " " + dir,
      dir);
  if (run.exit_code != 0 && run.err.find("No module named") != std::string::npos)
    GTEST_SKIP() << "the test venv lacks a package: " << run.err;
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const SafetensorsReader reference(dir + "/reference.safetensors");

  torch::NoGradGuard no_grad;
  UserBatch batch;
  batch.histories = seq;
  const auto user = model->user_vectors(batch);
  const auto scores = model->scores(batch);
  const auto loss = torch::logsumexp(scores, 1) - scores.gather(1, target.view({-1, 1})).squeeze(1);
  EXPECT_TRUE(torch::allclose(user, reference.load("user"), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(scores, reference.load("scores"), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(loss, reference.load("loss"), 1e-4, 1e-4));
  EXPECT_EQ(scores.select(1, 0).abs().max().item<float>(), 0.0f);  // the padding id scores 0
}

TEST(Sasrec, LastPositionShortcutEqualsTheFullLayer) {
  auto model = test::random_sasrec(30, 5);
  torch::NoGradGuard no_grad;
  const auto seq = random_histories(4, 5, 30, 6);
  UserBatch batch;
  batch.histories = seq;
  const auto user = model->user_vectors(batch);
  // The same forward with every position of the last layer.
  auto x = model->item_embedding(seq) + model->position_embedding->weight.slice(0, 0, 5);
  x = model->LayerNorm(x);
  const auto keys = (seq > 0).to(torch::kFloat).view({4, 1, 1, 5});
  const auto mask = (1.0 - keys * torch::ones({5, 5}).tril().view({1, 1, 5, 5})) * -10000.0;
  for (const auto& layer : *model->trm_encoder->layer)
    x = layer->as<SasrecLayer>()->forward(x, mask, false);
  EXPECT_TRUE(torch::allclose(user, x.select(1, 4), 1e-5, 1e-6));
}

TEST(Sasrec, OnlyThePastAndRealItemsMatter) {
  auto model = test::random_sasrec(30, 7);
  torch::NoGradGuard no_grad;
  UserBatch a, b;
  a.histories = torch::tensor({{0, 0, 4, 5, 6}}, torch::kLong);
  b.histories = a.histories.clone();
  // The padding row of the item table is zero and never read as an item: changing what the
  // padded slots would see (their own embedding) leaves the user vector alone.
  const auto va = model->user_vectors(a);
  model->position_embedding->weight[0].add_(1.0);
  model->position_embedding->weight[1].add_(1.0);
  const auto vb = model->user_vectors(b);
  EXPECT_TRUE(torch::allclose(va, vb, 1e-5, 1e-6));
  // A different most recent item changes it.
  b.histories[0][4] = 7;
  EXPECT_FALSE(torch::allclose(va, model->user_vectors(b), 1e-3, 1e-3));
}

TEST(Sasrec, ParameterNamesAreUniRecs) {
  auto model = test::random_sasrec(30, 1);
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* name : {"item_embedding.weight", "position_embedding.weight", "LayerNorm.weight",
                           "trm_encoder.layer.0.multi_head_attention.query.weight",
                           "trm_encoder.layer.1.multi_head_attention.LayerNorm.bias",
                           "trm_encoder.layer.1.feed_forward.dense_2.weight"})
    EXPECT_TRUE(names.count(name)) << name;
  EXPECT_EQ(model->position_embedding->weight.size(0), 6);  // max_history + 1, as UniRec
  auto mf = test::random_mf(5, 30, 1);
  std::set<std::string> mf_names;
  for (const auto& p : mf->named_parameters()) mf_names.insert(p.key());
  EXPECT_EQ(mf_names, (std::set<std::string>{"user_embedding.weight", "item_embedding.weight"}));
  EXPECT_EQ(mf->item_vectors().select(0, 0).abs().max().item<float>(), 0.0f);
}

}  // namespace
}  // namespace gavamoe
