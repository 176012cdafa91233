// Explainer: placeholder embeddings replace the table lookup, LoRA wraps q/k/v/o under PEFT
// names, per-record routing (a batch mixing clusters equals each record alone; soft gating with
// one-hot weights equals hard), the summed loss equals a direct cross-entropy over the target
// positions and, run on the real tokens only, the padded batch's loss and gradients, trainable sets
// match hand counts, the export (LoRA merged) reproduces the logits and holds the merged weights,
// and run folders round-trip. Base: the tiny GQA checkpoint of the Llama golden test (C 64, 2
// layers, V 300); placeholder ids are the virtual 300 and 301.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/model/vae_gmm.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

constexpr int64_t kUsers = 5, kItems = 7, kVaeWidth = 12, kClusters = 3, kExperts = 4, kWidth = 24,
                  kRank = 4;
constexpr int kUser = 300, kItem = 301;

std::string golden(const std::string& name) {
  return test::source_path("tests/golden/llama/" + name);
}

ExplainerOptions make_options(bool pretrained, const std::string& gating = "hard",
                              const std::string& base_ffn = "replace") {
  ExplainerOptions o;
  o.n_experts = kExperts;
  o.expert_width = kWidth;
  o.n_clusters = kClusters;
  o.gating = gating;
  o.base_ffn = base_ffn;
  o.pretrained_base = pretrained;
  o.lora.rank = kRank;
  o.user_token = kUser;
  o.item_token = kItem;
  return o;
}

// Routers scaled up so that clusters route differently, LoRA B non-zero so adapters matter.
void perturb(ExplainerImpl& explainer) {
  torch::NoGradGuard no_grad;
  for (auto& item : explainer.named_parameters()) {
    if (item.key().find("routers") != std::string::npos) item.value().mul_(4);
    if (item.key().find("lora_B") != std::string::npos) item.value().normal_(0, 0.2);
  }
}

// In eval mode (no LoRA dropout). `base_dtype`: the pretrained base's dtype.
Explainer make_explainer(const ExplainerOptions& o, const std::string& base = "gqa_untied",
                         torch::Dtype base_dtype = torch::kFloat32) {
  torch::manual_seed(3);
  Llama llama{nullptr};
  if (o.pretrained_base) {
    llama = load_llama(golden(base), base_dtype);
  } else {
    llama = Llama(LlamaConfig::load(golden(base) + "/config.json"));
    llama->init_weights(5);
  }
  Explainer explainer(llama, o, torch::randn({kUsers + 1, kVaeWidth}),
                      torch::randn({kItems + 1, kVaeWidth}));
  perturb(*explainer);
  explainer->eval();
  return explainer;
}

struct Example {
  std::vector<int64_t> ids;
  int64_t prompt_length;
  int64_t user, item, cluster;
};

const std::vector<Example> kExamples = {
    {{1, 17, kItem, 33, kUser, 9, 120, 44, 45, 2}, 6, 0, 3, 0},
    {{1, kItem, 5, kUser, 8, 2}, 5, 4, 6, 2},
    {{1, 77, 78, kItem, 79, kUser, 81, 82, 83, 84, 85, 2}, 7, 2, 1, 1}};

// Right-padded batch; targets are the next tokens after the prompt's last token.
ExplainerBatch make_batch(const std::vector<Example>& examples) {
  const int64_t b = static_cast<int64_t>(examples.size());
  int64_t t = 0;
  for (const auto& e : examples) t = std::max<int64_t>(t, e.ids.size());
  ExplainerBatch batch;
  batch.ids = torch::zeros({b, t}, torch::kInt64);
  batch.valid = torch::zeros({b, t}, torch::kBool);
  batch.targets = torch::full({b, t}, -100, torch::kInt64);
  std::vector<int64_t> users, items, clusters;
  for (int64_t r = 0; r < b; ++r) {
    const Example& e = examples[r];
    for (size_t i = 0; i < e.ids.size(); ++i) {
      batch.ids[r][i] = e.ids[i];
      batch.valid[r][i] = true;
      if (static_cast<int64_t>(i) + 1 >= e.prompt_length && i + 1 < e.ids.size())
        batch.targets[r][i] = e.ids[i + 1];
    }
    users.push_back(e.user);
    items.push_back(e.item);
    clusters.push_back(e.cluster);
  }
  batch.users = torch::tensor(users);
  batch.items = torch::tensor(items);
  batch.routing.clusters = torch::tensor(clusters);
  batch.routing.weights = torch::one_hot(batch.routing.clusters, kClusters).to(torch::kFloat32);
  return batch;
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(Llama, PlaceholdersReplaceEmbeddingsBeforeTheTable) {
  Llama llama = load_llama(golden("gqa_untied"));
  const torch::Tensor ids = torch::tensor({{1, kUser, 5, kItem}, {kItem, 7, kUser, kUser}});
  torch::manual_seed(1);
  const torch::Tensor vectors = torch::randn({2, 2, 64}, torch::requires_grad());
  const torch::Tensor x = llama->embed(ids, {{kUser, kItem}, vectors});  // 300, 301 >= V
  const torch::Tensor table = llama->embed_tokens->weight;
  auto expect_row = [&](int64_t b, int64_t t, const torch::Tensor& expected) {
    EXPECT_TRUE(torch::equal(x[b][t], expected)) << b << "," << t;
  };
  expect_row(0, 0, table[1]);
  expect_row(0, 1, vectors[0][0]);
  expect_row(0, 2, table[5]);
  expect_row(0, 3, vectors[0][1]);
  expect_row(1, 0, vectors[1][1]);
  expect_row(1, 1, table[7]);
  expect_row(1, 2, vectors[1][0]);
  expect_row(1, 3, vectors[1][0]);
  x.sum().backward();  // the vectors learn: one gradient of ones per occurrence
  EXPECT_TRUE(
      torch::allclose(vectors.grad().sum(-1) / 64, torch::tensor({{1.f, 1.f}, {2.f, 1.f}})));
  // An in-vocabulary id works as a placeholder too.
  const torch::Tensor y = llama->embed(torch::tensor({{5, 6}}), {{6}, torch::ones({1, 1, 64})});
  EXPECT_TRUE(torch::equal(y[0][1], torch::ones({64})));
  EXPECT_TRUE(torch::equal(y[0][0], table[5]));
}

TEST(Llama, LoraWrapsProjectionsUnderPeftNames) {
  Llama llama = load_llama(golden("gqa_untied"));
  const torch::Tensor ids = torch::tensor({{1, 17, 250, 33}});
  torch::NoGradGuard no_grad;
  const torch::Tensor before = llama->forward(ids);
  const torch::Tensor q = llama->named_parameters()["layers.1.self_attn.q_proj.weight"].clone();
  for (const auto& layer : *llama->layers) layer->as<DecoderLayerImpl>()->self_attn->add_lora({});
  const auto named = llama->named_parameters();
  EXPECT_FALSE(named.contains("layers.1.self_attn.q_proj.weight"));
  EXPECT_TRUE(torch::equal(named["layers.1.self_attn.q_proj.base_layer.weight"], q));
  EXPECT_FALSE(named["layers.1.self_attn.q_proj.base_layer.weight"].requires_grad());
  EXPECT_EQ(named["layers.1.self_attn.o_proj.lora_A.weight"].sizes(), torch::IntArrayRef({8, 64}));
  EXPECT_EQ(named["layers.1.self_attn.k_proj.lora_B.weight"].sizes(), torch::IntArrayRef({32, 8}));
  llama->eval();
  EXPECT_TRUE(torch::equal(llama->forward(ids), before));  // fresh adapters: B = 0
}

TEST(Explainer, BatchMixingClustersEqualsEachRecordAlone) {
  for (const std::string gating : {"hard", "soft"}) {
    Explainer explainer = make_explainer(make_options(true, gating));
    torch::NoGradGuard no_grad;
    const torch::Tensor batched = explainer->logits(make_batch(kExamples));
    for (size_t r = 0; r < kExamples.size(); ++r) {
      const torch::Tensor alone = explainer->logits(make_batch({kExamples[r]}));
      const int64_t t = alone.size(1);
      EXPECT_LT(max_difference(batched[r].slice(0, 0, t), alone[0]), 1e-5) << gating << r;
    }
    // The cluster matters.
    Example other = kExamples[0];
    other.cluster = 1;
    EXPECT_GT(max_difference(explainer->logits(make_batch({other})),
                             explainer->logits(make_batch({kExamples[0]}))),
              1e-3)
        << gating;
  }
}

TEST(Explainer, SoftGatingWithOneHotWeightsEqualsHard) {
  Explainer hard = make_explainer(make_options(true, "hard"));
  Explainer soft = make_explainer(make_options(true, "soft"));
  soft->load_trainable(hard->trainable_parameters(), "hard explainer");
  torch::NoGradGuard no_grad;
  ExplainerBatch batch = make_batch(kExamples);
  const torch::Tensor expected = hard->logits(batch);
  EXPECT_LT(max_difference(soft->logits(batch), expected), 1e-5);
  batch.routing.weights = torch::tensor({{0.5f, 0.5f, 0.f}, {0.2f, 0.3f, 0.5f}, {0.f, 0.4f, 0.6f}});
  EXPECT_GT(max_difference(soft->logits(batch), expected), 1e-3);
}

TEST(Explainer, LossIsSummedCrossEntropyOverTargetsOnly) {
  ExplainerOptions options = make_options(true);
  options.load_balance_weight = 0.25;
  Explainer explainer = make_explainer(options);
  const ExplainerBatch batch = make_batch(kExamples);
  const ExplainerLoss loss = explainer->loss(batch);
  std::vector<torch::Tensor> aux;  // of this forward (its real tokens)
  for (const auto& block : explainer->moe_blocks) aux.push_back(block->last_aux_loss());
  const double aux_mean = torch::stack(aux).mean().item<double>();
  torch::NoGradGuard no_grad;
  // Reference: logits through an explicit padding mask, float64 log-softmax, position by position.
  const Placeholders placeholders = explainer->placeholders(batch.users, batch.items);
  Llama& llama = explainer->llama;
  const torch::Tensor positions =
      torch::arange(batch.ids.size(1)).unsqueeze(0).expand_as(batch.ids);
  const torch::Tensor logits =
      llama
          ->head(llama->hidden(llama->embed(batch.ids, placeholders), positions, batch.valid,
                               nullptr, batch.routing))
          .to(torch::kFloat64);
  double expected = 0;
  int64_t tokens = 0;
  for (size_t r = 0; r < kExamples.size(); ++r) {
    const Example& e = kExamples[r];
    for (size_t t = e.prompt_length - 1; t + 1 < e.ids.size(); ++t, ++tokens)
      expected -= logits[r][t].log_softmax(0)[e.ids[t + 1]].item<double>();
  }
  EXPECT_EQ(loss.tokens, tokens);
  ASSERT_TRUE(loss.aux.defined());
  EXPECT_NEAR(loss.aux.item<double>(), aux_mean, 1e-6);
  EXPECT_GT(aux_mean, 0);
  EXPECT_NEAR(loss.sum.item<double>(), expected + 0.25 * aux_mean * tokens, 1e-3);

  options.load_balance_weight = 0;
  Explainer plain = make_explainer(options);
  const ExplainerLoss plain_loss = plain->loss(batch);
  EXPECT_FALSE(plain_loss.aux.defined());
  EXPECT_NEAR(plain_loss.sum.item<double>(), expected, 1e-3);
}

// The loss runs the layers on the real tokens only (Llama::packed_hidden), a prompt prefix that
// records of one cluster share once; its value and every trainable gradient equal those of the
// padded batch through an explicit mask, for hard and soft gating with a shared base MLP and for
// LoRA alone. The batch: kExamples and two records that begin as the first (one of its cluster,
// sharing the tokens before the item, one of another cluster, sharing nothing).
TEST(Explainer, PackedLossAndGradientsEqualThePaddedBatch) {
  std::vector<Example> examples = kExamples;
  examples.push_back({{1, 17, kItem, 34, kUser, 9, 121, 44, 2}, 6, 3, 2, 0});
  examples.push_back({{1, 17, kItem, 33, kUser, 9, 120, 46, 2}, 6, 1, 3, 1});
  for (const std::string gating : {"hard", "soft", "none"}) {
    ExplainerOptions options = make_options(true, gating == "none" ? "hard" : gating, "shared");
    if (gating == "none") options.n_experts = 0;
    Explainer explainer = make_explainer(options);
    ExplainerBatch batch = make_batch(examples);
    if (gating == "soft")
      batch.routing.weights = torch::tensor({{0.5f, 0.5f, 0.f},
                                             {0.2f, 0.3f, 0.5f},
                                             {0.f, 0.4f, 0.6f},
                                             {0.5f, 0.5f, 0.f},
                                             {0.f, 0.4f, 0.6f}});
    else  // as the trainer's batches: the VAE's weights beside the clusters, unread here
      batch.routing.weights = torch::softmax(torch::randn({5, kClusters}), 1);
    // Records 0 and 3 route alike (cluster 0 under hard gating, the same weights under soft)
    // and share 2 tokens, records 2 and 4 (cluster 1, the same weights) their first; without
    // experts every record shares its first token with record 0, and records 3 and 4 the first two.
    const int64_t real = batch.valid.sum().item<int64_t>();
    const int64_t computed = pack_tokens(batch.valid, explainer->loss_routing(batch),
                                         input_keys(batch.ids, {kUser, kItem}))
                                 .tokens.size(0);
    EXPECT_EQ(computed, real - (gating == "none" ? 6 : 3)) << gating;
    auto gradients = [&] {
      std::map<std::string, torch::Tensor> out;
      for (auto& [name, p] : explainer->trainable_parameters()) {
        out[name] = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
        p.mutable_grad() = torch::Tensor();
      }
      return out;
    };
    const ExplainerLoss packed = explainer->loss(batch);
    packed.sum.backward();
    const auto packed_gradients = gradients();

    Llama& llama = explainer->llama;
    const torch::Tensor positions =
        torch::arange(batch.ids.size(1)).unsqueeze(0).expand_as(batch.ids);
    const torch::Tensor hidden =
        llama->hidden(llama->embed(batch.ids, explainer->placeholders(batch.users, batch.items)),
                      positions, batch.valid, nullptr, batch.routing);
    const torch::Tensor scored = batch.targets != -100;
    const torch::Tensor padded = torch::nn::functional::cross_entropy(
        llama->head(hidden.index({scored})), batch.targets.index({scored}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    padded.backward();
    const auto padded_gradients = gradients();

    EXPECT_NEAR(packed.sum.item<double>(), padded.item<double>(), 1e-4) << gating;
    for (const auto& [name, expected] : padded_gradients) {
      const double scale = std::max(expected.abs().max().item<double>(), 1e-6);
      EXPECT_LT(max_difference(packed_gradients.at(name), expected), 1e-4 * scale)
          << gating << " " << name;
    }
  }
}

// A frozen bfloat16 base (train.base_dtype) with float32 trainable parts: the trainable
// parameters and their gradients are float32, the base bfloat16, and the loss and gradients
// follow those of the float32 base from the same weights. Tolerances: bfloat16 keeps 8
// significant bits (unit roundoff 2^-9 = 0.002). The forward rounds the base's weights and the
// residual stream to it, but the loss sums many positions' errors of both signs: it moves by
// about 4e-5 relatively here (1e-3 allowed). The backward rounds every activation gradient
// through the base to bfloat16 too, and a parameter gradient is a sum of products of those with
// near-cancelling terms: as a whole it moves by 7 % in norm here (measured 0.072-0.074; 0.15
// allowed) while pointing the same way (cosine above 0.99). A wrong cast, a dropped adapter or
// expert, or a gradient lost in a cast gives errors near 1. The float32 export of the bfloat16
// run computes in float32, so its logits differ from the bfloat16 forward by bfloat16's
// activation rounding (3-4 % of the largest logit here; 0.1 allowed).
TEST(Explainer, Bfloat16BaseFollowsFloat32) {
  for (const std::string base_ffn : {"replace", "shared"}) {
    const ExplainerOptions options = make_options(true, "hard", base_ffn);
    Explainer full = make_explainer(options);
    Explainer half = make_explainer(options, "gqa_untied", torch::kBFloat16);
    half->load_trainable(full->trainable_parameters(), "the float32 explainer");
    for (const auto& item : half->named_parameters()) {
      const auto dtype = item.value().scalar_type();
      if (item.value().requires_grad())
        EXPECT_EQ(dtype, torch::kFloat32) << item.key();
      else
        EXPECT_EQ(dtype, torch::kBFloat16) << item.key();
    }
    const ExplainerBatch batch = make_batch(kExamples);
    const ExplainerLoss a = full->loss(batch), b = half->loss(batch);
    EXPECT_EQ(b.sum.scalar_type(), torch::kFloat32);
    a.sum.backward();
    b.sum.backward();
    const double loss_a = a.sum.item<double>(), loss_b = b.sum.item<double>();
    EXPECT_LT(std::abs(loss_b - loss_a) / loss_a, 1e-3)
        << base_ffn << ": " << loss_a << " " << loss_b;
    const auto trained_a = full->trainable_parameters(), trained_b = half->trainable_parameters();
    double difference = 0, norm = 0, dot = 0, norm_b = 0;
    for (const auto& [name, p] : trained_a) {
      const torch::Tensor& grad = trained_b.at(name).grad();
      ASSERT_TRUE(grad.defined()) << name;
      EXPECT_EQ(grad.scalar_type(), torch::kFloat32) << name;
      difference +=
          (grad.to(torch::kDouble) - p.grad().to(torch::kDouble)).pow(2).sum().item<double>();
      norm += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
      norm_b += grad.to(torch::kDouble).pow(2).sum().item<double>();
      dot += (grad.to(torch::kDouble) * p.grad().to(torch::kDouble)).sum().item<double>();
    }
    ASSERT_GT(norm, 0.0);
    EXPECT_LT(std::sqrt(difference / norm), 0.15) << base_ffn;
    EXPECT_GT(dot / std::sqrt(norm * norm_b), 0.99) << base_ffn;
    std::printf("bfloat16 base (%s): loss %.6f vs %.6f, gradient relative error %.4f\n",
                base_ffn.c_str(), loss_b, loss_a, std::sqrt(difference / norm));

    // The export is float32, and the bfloat16 run's logits come back from it.
    const std::string dir = test::scratch_dir() + "/" + base_ffn;
    half->export_hf(dir);
    Explainer exported = load_exported_explainer(dir);
    EXPECT_EQ(exported->llama->embed_tokens->weight.scalar_type(), torch::kFloat32);
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = half->logits(batch);
    EXPECT_LT(max_difference(exported->logits(batch), logits) / logits.abs().max().item<double>(),
              0.1);
  }
}

TEST(Explainer, TrainableSetsMatchHandCounts) {
  const int64_t c = 64, layers = 2, q_out = 64, kv_out = 32;
  const int64_t experts = layers * kExperts * 3 * c * kWidth;
  const int64_t routers = layers * kClusters * kExperts * c;
  const int64_t projections = 2 * (kVaeWidth * c + c);
  const int64_t lora =
      layers * kRank * ((c + q_out) + 2 * (c + kv_out) + (q_out + c));  // q, k, v, o: A + B

  Explainer pretrained = make_explainer(make_options(true));
  EXPECT_EQ(pretrained->trainable_count(), experts + routers + projections + lora);
  for (const auto& [name, p] : pretrained->trainable_parameters()) {
    EXPECT_TRUE(p.requires_grad()) << name;
    const bool expected = name.find(".experts.") != std::string::npos ||
                          name.find(".routers.") != std::string::npos ||
                          name.find("_projection.") != std::string::npos ||
                          name.find(".lora_") != std::string::npos;
    EXPECT_TRUE(expected) << name;
  }
  EXPECT_TRUE(
      pretrained->trainable_parameters().count("llama.layers.0.self_attn.v_proj.lora_A.weight"));

  // Shared: the pretrained MLP stays inside the block, frozen.
  Explainer shared = make_explainer(make_options(true, "hard", "shared"));
  EXPECT_EQ(shared->trainable_count(), experts + routers + projections + lora);
  EXPECT_EQ(shared->parameter_count(), pretrained->parameter_count() + layers * 3 * c * 160);

  // From scratch: everything, no adapters.
  Explainer scratch = make_explainer(make_options(false, "hard", "shared"));
  EXPECT_EQ(scratch->trainable_count(), scratch->parameter_count());
  EXPECT_EQ(scratch->parameter_count(), shared->parameter_count() - lora);
  for (const auto& [name, p] : scratch->trainable_parameters())
    EXPECT_EQ(name.find("lora"), std::string::npos) << name;
}

// n_experts 0: no MoE blocks, every layer keeps its pretrained MLP, and LoRA with the placeholder
// projections is all that trains; the export reproduces the logits. MoE layers need experts.
TEST(Explainer, NoExpertsKeepsTheBaseMlpAndTrainsLoraOnly) {
  const int64_t c = 64, layers = 2, q_out = 64, kv_out = 32;
  const int64_t projections = 2 * (kVaeWidth * c + c);
  const int64_t lora = layers * kRank * ((c + q_out) + 2 * (c + kv_out) + (q_out + c));
  ExplainerOptions o = make_options(true);
  o.n_experts = 0;
  Explainer lora_only = make_explainer(o);
  EXPECT_EQ(lora_only->trainable_count(), projections + lora);
  int64_t base_parameters = 0;
  for (const auto& p : load_llama(golden("gqa_untied"))->parameters()) base_parameters += p.numel();
  EXPECT_EQ(lora_only->parameter_count(), base_parameters + projections + lora);
  for (const auto& [name, p] : lora_only->trainable_parameters())
    EXPECT_EQ(name.find(".mlp."), std::string::npos) << name;

  const std::string dir = test::scratch_dir();
  lora_only->export_hf(dir + "/export");
  Explainer loaded = load_exported_explainer(dir + "/export");
  torch::NoGradGuard no_grad;
  const ExplainerBatch batch = make_batch(kExamples);
  EXPECT_LT(max_difference(loaded->logits(batch), lora_only->logits(batch)), 1e-5);

  o.moe_layers = {0};
  EXPECT_THROW(make_explainer(o), Error);
}

TEST(Explainer, ExportReproducesLogitsWithLoraMerged) {
  struct Case {
    ExplainerOptions options;
    std::string base;
  };
  std::vector<Case> cases = {{make_options(true), "gqa_untied"},
                             {make_options(true, "soft", "shared"), "mha_tied"},
                             {make_options(false), "gqa_untied"}};
  cases[1].options.moe_layers = {1};
  for (const Case& c : cases) {
    const std::string dir = test::scratch_dir();
    Explainer explainer = make_explainer(c.options, c.base);
    explainer->export_hf(dir + "/export");
    EXPECT_TRUE(is_exported_explainer(dir + "/export"));
    Explainer loaded = load_exported_explainer(dir + "/export");
    EXPECT_EQ(loaded->options.lora.rank, 0);
    torch::NoGradGuard no_grad;
    const ExplainerBatch batch = make_batch(kExamples);
    EXPECT_LT(max_difference(loaded->logits(batch), explainer->logits(batch)), 1e-5)
        << c.base << " " << c.options.base_ffn;
  }
  EXPECT_FALSE(is_exported_explainer(golden("gqa_untied")));
}

TEST(Explainer, ExportedHfPartHoldsMergedWeightsAndTheSharedMlp) {
  const std::string dir = test::scratch_dir();
  ExplainerOptions options = make_options(true, "hard", "shared");
  options.moe_layers = {1};
  Explainer explainer = make_explainer(options);
  explainer->export_hf(dir);
  const Llama plain = load_llama(dir);  // a plain HF Llama folder
  const Llama original = load_llama(golden("gqa_untied"));
  auto exported = plain->named_parameters();
  auto trained = explainer->named_parameters();
  torch::NoGradGuard no_grad;
  for (const char* projection : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
    const std::string prefix = std::string("llama.layers.1.self_attn.") + projection;
    const torch::Tensor merged =
        trained[prefix + ".base_layer.weight"] +
        (16.0 / kRank) * trained[prefix + ".lora_B.weight"].mm(trained[prefix + ".lora_A.weight"]);
    EXPECT_LT(max_difference(exported[std::string("layers.1.self_attn.") + projection + ".weight"],
                             merged),
              1e-6)
        << projection;
  }
  for (const auto& item : original->named_parameters()) {
    if (item.key().find("self_attn") == std::string::npos) {  // MLPs, norms, embeddings, head
      EXPECT_TRUE(torch::equal(exported[item.key()], item.value())) << item.key();
    }
  }
}

// A VAE run folder with kUsers x kItems ids and kClusters clusters.
std::string write_vae_run(const std::string& dir) {
  VaeGmmOptions options;
  options.n_users = kUsers;
  options.n_items = kItems;
  options.embedding_dim = kVaeWidth;
  options.latent_dim = 4;
  options.clusters = kClusters;
  torch::manual_seed(11);
  VaeGmm vae(options);
  IdMap users, items;
  for (int64_t u = 0; u < kUsers; ++u) users.add("u" + std::to_string(u));
  for (int64_t i = 0; i < kItems; ++i) items.add("i" + std::to_string(i));
  make_dirs(dir + "/vae");
  save_trained_vae(dir + "/vae", vae, users, items);
  return dir + "/vae";
}

TEST(Explainer, RunFolderRoundTrips) {
  const std::string dir = test::scratch_dir();
  const std::string vae_run = write_vae_run(dir);
  const TrainedVae vae = load_trained_vae(vae_run);
  ExplainerRunInfo pretrained{make_options(true), golden("gqa_untied"), nullptr, vae_run};
  ExplainerRunInfo scratch{make_options(false), "",
                           LlamaConfig::load(golden("gqa_untied") + "/config.json").to_json(),
                           vae_run};
  for (const ExplainerRunInfo& info : {pretrained, scratch}) {
    const std::string run = dir + (info.base_model.empty() ? "/scratch" : "/pretrained");
    make_dirs(run);
    Explainer trained = build_explainer(info, 7);
    EXPECT_TRUE(torch::equal(trained->user_table, vae.model->user_embedding->weight));
    perturb(*trained);  // stands for training
    trained->eval();
    write_file_atomic(run + "/explainer.json", info.to_json().dump(2));
    write_safetensors(run + "/explainer.safetensors", trained->trainable_parameters());

    Explainer loaded = load_explainer_run(run);
    torch::NoGradGuard no_grad;
    const ExplainerBatch batch = make_batch(kExamples);
    EXPECT_LT(max_difference(loaded->logits(batch), trained->logits(batch)), 1e-6) << run;
    EXPECT_FALSE(is_exported_explainer(run));
  }
  // A from-scratch build is seeded.
  const auto a = build_explainer(scratch, 7)->named_parameters();
  const auto b = build_explainer(scratch, 7)->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
}

TEST(Explainer, RunErrorsNameTheProblem) {
  const std::string dir = test::scratch_dir();
  ExplainerRunInfo info{make_options(true), golden("gqa_untied"), nullptr, write_vae_run(dir)};
  info.options.n_clusters = kClusters + 1;
  EXPECT_THROW(build_explainer(info, 1), Error);
  info.options.n_clusters = kClusters;
  info.options.moe_layers = {2};
  EXPECT_THROW(build_explainer(info, 1), Error);
  info.options.moe_layers = {};

  make_dirs(dir + "/run");
  write_file_atomic(dir + "/run/explainer.json", info.to_json().dump());
  auto tensors = build_explainer(info, 1)->trainable_parameters();
  tensors.erase("user_projection.bias");
  write_safetensors(dir + "/run/explainer.safetensors", tensors);
  try {
    load_explainer_run(dir + "/run");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("user_projection.bias"), std::string::npos) << e.what();
  }
  nlohmann::json broken = info.to_json();
  broken["options"].erase("top_k");
  try {
    ExplainerRunInfo::from_json(broken, "run/explainer.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_k"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gavamoe
