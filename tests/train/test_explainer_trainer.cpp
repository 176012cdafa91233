// gavamoe train on a small synthetic dataset: the schedule against its formula, loss
// normalisation across accumulation against a direct computation, bit-identical resume,
// skip counting, train_log.jsonl, perplexity far below the unigram baseline, export, bad inputs,
// 2 data-parallel processes against one, and (on a machine with GPUs) a CUDA run against the CPU
// and NCCL ranks against one GPU process.
// One LibTorch thread: the models are tiny, and OpenMP threads that spin-wait make a shared
// machine many times slower.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/data/synth.hpp"
#include "gavamoe/data/tokenizer_corpus.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "gavamoe/text/tokenizer.hpp"
#include "gavamoe/train/explainer_trainer.hpp"
#include "gavamoe/train/lr_schedule.hpp"
#include "gavamoe/train/vae_trainer.hpp"
#include "model/tiny_chat_base.hpp"
#include "model/venv_python.hpp"
#include "small_vae.hpp"
#include "test_util.hpp"
#include "text/tiny_bpe.hpp"
#include "training_runs.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kTinyModel = R"({
  "vocab_size": 400, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
  "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
  "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "tie_word_embeddings": true,
  "bos_token_id": 1, "eos_token_id": 2})";

// A synthetic dataset (40 users), its VAE run, a tokenizer and a tiny
// model config, all under `dir`; `base` adds a random "pretrained" HF folder with the tokenizer.
struct Fixture {
  std::string data, vae, tokenizer, model_config, base;
};

// 200 synthetic records of `users` users in 2 groups, in dir.
std::string synthetic_data(const std::string& dir, int users) {
  SynthOptions synth;
  synth.users = users;
  synth.items = 30;
  synth.clusters = 2;
  synth.records = 200;
  synth.seed = 5;
  write_synthetic_dataset(dir, make_synthetic_dataset(synth), synth.seed);
  return dir;
}

Fixture make_fixture(const std::string& dir, bool with_base = false) {
  torch::set_num_threads(1);
  Fixture f;
  f.data = synthetic_data(dir + "/data", 40);
  const Dataset data = load_dataset(f.data);

  f.vae = dir + "/vae";
  VaeTrainOptions vae;
  vae.model = test::trainable_vae_shape(2);
  vae.pretrain_epochs = 3;
  vae.vade_epochs = 1;
  vae.pretrain_batch_size = vae.vade_batch_size = 64;
  vae.device = "cpu";
  pretrain_vae(data, vae, f.vae);

  f.tokenizer = dir + "/tok.model";
  TokenizerTrainOptions tok;
  tok.vocab_size = 400;
  train_tokenizer(tokenizer_corpus(data), tok, f.tokenizer);
  f.model_config = dir + "/tiny.json";
  test::write_text(f.model_config, kTinyModel);
  if (with_base) {
    f.base = dir + "/base";
    LlamaConfig config = LlamaConfig::from_json(json::parse(kTinyModel), "tiny");
    config.vocab_size = SentencePieceTokenizer(f.tokenizer).vocab_size();
    Llama model(config);
    model->init_weights(11);
    save_hf_checkpoint(model, f.base);
    fs::copy_file(f.tokenizer, f.base + "/tokenizer.model");
  }
  return f;
}

ExplainerTrainOptions tiny_options() {
  ExplainerTrainOptions o;
  o.model.n_experts = 3;
  o.model.expert_width = 32;
  o.model.top_k = 2;
  o.max_length = 64;
  o.epochs = 2;
  o.batch_size = 8;
  o.lr = 3e-3;
  o.warmup_steps = 4;
  o.log_every = 2;
  o.checkpoint_every = 5;
  o.device = "cpu";
  o.seed = 3;
  return o;
}

ExplainerSources scratch_sources(const Fixture& f) {
  ExplainerSources s;
  s.vae_run = f.vae;
  s.model_config = f.model_config;
  s.tokenizer = f.tokenizer;
  return s;
}

using test::log_lines;
using test::max_difference;
using test::read_weights;

TEST(LrSchedule, WarmupThenDecayByTheFormula) {
  // Written out by hand: warm-up 4 steps to 0.1, then 6 decay steps.
  const LrSchedule linear{0.1, 4, 10, "linear"}, cosine{0.1, 4, 10, "cosine"};
  const double warmup[] = {0.025, 0.05, 0.075, 0.1};
  for (int s = 0; s < 4; ++s) {
    EXPECT_DOUBLE_EQ(linear.at(s), warmup[s]);
    EXPECT_DOUBLE_EQ(cosine.at(s), warmup[s]);
  }
  EXPECT_DOUBLE_EQ(linear.at(4), 0.1);
  EXPECT_NEAR(linear.at(7), 0.05, 1e-15);
  EXPECT_NEAR(linear.at(9), 0.1 / 6, 1e-15);
  EXPECT_DOUBLE_EQ(linear.at(10), 0.0);
  EXPECT_DOUBLE_EQ(cosine.at(4), 0.1);
  EXPECT_NEAR(cosine.at(7), 0.05, 1e-15);        // half-way: cos(pi/2) = 0
  EXPECT_NEAR(cosine.at(6), 0.1 * 0.75, 1e-15);  // a third: (1 + cos(pi/3)) / 2 = 0.75
  EXPECT_NEAR(cosine.at(10), 0.0, 1e-15);
  const LrSchedule constant{0.1, 0, 10, "constant"};
  EXPECT_DOUBLE_EQ(constant.at(0), 0.1);
  EXPECT_DOUBLE_EQ(constant.at(9), 0.1);
  EXPECT_THROW(LrSchedule::check_kind("step"), Error);
}

// The first step's loss is the token-mean cross-entropy over every target token of the step,
// whatever the split into micro-batches: its value and its gradient's norm are checked against
// the examples computed one at a time from the initial model's logits.
TEST(ExplainerTrainer, AccumulationNormalisesByTheStepsTargetTokens) {
  const std::string dir = test::scratch_dir();
  const Fixture f = make_fixture(dir);
  Dataset data = load_dataset(f.data);
  data.subsets[0].resize(8);  // one step of 8 examples per epoch, 3 epochs
  data.subsets[1].resize(4);

  auto options = tiny_options();
  options.epochs = 3;
  options.log_every = 1;
  options.lr = 1e-3;
  options.grad_accum = 4;
  options.batch_size = 2;
  train_explainer(data, scratch_sources(f), options, dir + "/accumulated");
  options.grad_accum = 1;
  options.batch_size = 8;
  train_explainer(data, scratch_sources(f), options, dir + "/whole");

  // Reference: the initial model, one example at a time.
  const auto info = ExplainerRunInfo::from_json(
      json::parse(test::read_text(dir + "/whole/explainer.json")), "explainer.json");
  Explainer model = build_explainer(info, options.seed);
  model->eval();
  TrainedVae vae = load_trained_vae(f.vae);
  const SentencePieceTokenizer tokenizer(dir + "/whole/tokenizer.model");
  PromptOptions prompt;
  prompt.max_length = options.max_length;
  auto nll = torch::zeros({}, torch::kDouble);
  double tokens = 0;
  std::set<int64_t> lengths;
  for (int64_t r : data.subset(Subset::train)) {
    const Record& record = data.records[r];
    const auto example = encode_example(tokenizer, record, prompt);
    ASSERT_TRUE(example);
    const auto cluster = assign_clusters(vae, {{record.user, record.item}})[0];
    const auto t = static_cast<int64_t>(example->ids.size());
    ExplainerBatch batch;
    batch.ids =
        torch::tensor(std::vector<int64_t>(example->ids.begin(), example->ids.end())).unsqueeze(0);
    batch.valid = torch::ones({1, t}, torch::kBool);
    batch.targets = torch::full({1, t}, -100, torch::kLong);
    batch.users = torch::tensor({vae.users.find(record.user)});
    batch.items = torch::tensor({vae.items.find(record.item)});
    batch.routing.clusters = torch::tensor({cluster.cluster});
    batch.routing.weights =
        torch::tensor(std::vector<float>(cluster.gamma.begin(), cluster.gamma.end())).unsqueeze(0);
    const auto log_probs = torch::log_softmax(model->logits(batch)[0].to(torch::kDouble), -1);
    for (int64_t j = example->prompt_length; j < t; ++j) {
      nll = nll - log_probs[j - 1][example->ids[j]];
      tokens += 1;
    }
    lengths.insert(t - example->prompt_length);
  }
  ASSERT_GT(lengths.size(), 1u) << "explanations of equal length would not test the weighting";
  const auto mean_nll = nll / tokens;
  mean_nll.backward();
  const auto initial = model->trainable_parameters();
  double squared_norm = 0;
  for (const auto& [name, p] : initial) squared_norm += p.grad().pow(2).sum().item<double>();
  const double expected = mean_nll.item<double>(), expected_norm = std::sqrt(squared_norm);
  for (const char* run : {"accumulated", "whole"}) {
    const auto lines = log_lines(dir + "/" + run);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].at("step"), 1);
    EXPECT_NEAR(lines[0].at("loss").get<double>(), expected, 1e-5 * expected) << run;
    EXPECT_NEAR(lines[0].at("grad_norm").get<double>(), expected_norm, 1e-4 * expected_norm) << run;
  }
  // The two runs take the same steps. Compared as whole updates: AdamW divides each element's
  // gradient by its own magnitude, so where a gradient is a near-cancelling sum (the tied
  // embedding rows of tokens absent from the step) the rounding of a different summation order
  // moves a single weight by up to lr; the update as a whole still agrees closely.
  const auto accumulated = read_weights(dir + "/accumulated/explainer.safetensors");
  const auto whole = read_weights(dir + "/whole/explainer.safetensors");
  ASSERT_EQ(accumulated.size(), initial.size());
  ASSERT_EQ(whole.size(), initial.size());
  double difference = 0, update = 0;
  for (const auto& [name, start] : initial) {
    const auto step_whole = (whole.at(name) - start).to(torch::kDouble);
    const auto step_accumulated = (accumulated.at(name) - start).to(torch::kDouble);
    difference += (step_accumulated - step_whole).pow(2).sum().item<double>();
    update += step_whole.pow(2).sum().item<double>();
  }
  ASSERT_GT(update, 0.0);
  EXPECT_LT(std::sqrt(difference / update), 1e-2);
}

std::string chat_base(const std::string& kind, const std::string& dir, std::string& skip);

// A run killed mid-epoch and at an epoch end, then resumed, ends bit-identical to one that
// ran through: LoRA dropout on a pretrained base makes the random draws count.
TEST(ExplainerTrainer, ResumedRunIsBitIdentical) {
  const std::string dir = test::scratch_dir();
  const Fixture f = make_fixture(dir, /*with_base=*/true);
  const Dataset data = load_dataset(f.data);
  ExplainerSources sources;
  sources.vae_run = f.vae;
  sources.base_model = f.base;
  auto options = tiny_options();
  options.model.lora.dropout = 0.1;

  const json whole = train_explainer(data, sources, options, dir + "/whole");
  EXPECT_LT(whole.at("trainable_parameters").get<int64_t>(),
            whole.at("parameters").get<int64_t>());  // the base is frozen

  const std::string killed = dir + "/killed";
  options.stop_after_steps = 7;  // mid-epoch, between checkpoints
  EXPECT_TRUE(train_explainer(data, sources, options, killed).value("stopped", false));
  EXPECT_FALSE(fs::exists(killed + "/explainer.safetensors"));
  EXPECT_FALSE(fs::exists(killed + "/metrics.json"));
  options.stop_after_steps = 20;  // the end of epoch 1
  EXPECT_TRUE(resume_explainer(data, options, killed).value("stopped", false));
  options.stop_after_steps = 0;
  resume_explainer(data, options, killed);

  for (const char* file : {"explainer.safetensors", "checkpoint/weights.safetensors"})
    EXPECT_EQ(test::read_text(dir + "/whole/" + file), test::read_text(killed + "/" + file))
        << file;
  auto a = log_lines(dir + "/whole"), b = log_lines(killed);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    for (const char* timing : {"tokens_per_s", "examples_per_s"}) {
      a[k].erase(timing);
      b[k].erase(timing);
    }
    EXPECT_EQ(a[k], b[k]) << "line " << k + 1;
  }
}

// The same with a bfloat16 base (train.base_dtype) on a byte-level BPE chat base: the run
// records the dtype, the resumed run rebuilds the base in it, and the trainable weights (float32)
// end bit-identical to an uninterrupted run's.
TEST(ExplainerTrainer, ResumedBfloat16BaseRunIsBitIdentical) {
  const std::string dir = test::scratch_dir();
  std::string skip;
  const std::string base = chat_base("hf-bpe", dir, skip);
  const Fixture f = make_fixture(dir);
  const Dataset data = load_dataset(f.data);
  ExplainerSources sources;
  sources.vae_run = f.vae;
  sources.base_model = base;
  auto options = tiny_options();
  options.epochs = 1;
  options.max_length = 256;
  options.template_name = "auto";
  options.model.lora.dropout = 0.1;
  options.base_dtype = "bfloat16";

  train_explainer(data, sources, options, dir + "/whole");
  EXPECT_EQ(read_explainer_run_info(dir + "/whole").base_dtype, "bfloat16");
  const std::string killed = dir + "/killed";
  options.stop_after_steps = 7;  // mid-epoch, after the checkpoint of step 5
  EXPECT_TRUE(train_explainer(data, sources, options, killed).value("stopped", false));
  options.stop_after_steps = 0;
  resume_explainer(data, options, killed);
  const auto a = read_weights(dir + "/whole/explainer.safetensors");
  const auto b = read_weights(killed + "/explainer.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    EXPECT_EQ(tensor.scalar_type(), torch::kFloat32) << name;
    EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  }
  EXPECT_EQ(test::read_text(dir + "/whole/explainer.safetensors"),
            test::read_text(killed + "/explainer.safetensors"));
}

// Records whose prompt (plus EOS) does not fit max_length are skipped and counted.
TEST(ExplainerTrainer, SkipsAndCountsRecordsWithTooLongPrompts) {
  const std::string dir = test::scratch_dir();
  const Fixture f = make_fixture(dir);
  const Dataset data = load_dataset(f.data);
  const SentencePieceTokenizer tokenizer(f.tokenizer);
  PromptOptions prompt;
  std::vector<size_t> lengths;
  for (int64_t r : data.subset(Subset::train))
    lengths.push_back(encode_prompt(tokenizer, data.records[r], prompt).size());
  std::vector<size_t> sorted = lengths;
  std::sort(sorted.begin(), sorted.end());
  auto options = tiny_options();
  options.epochs = 1;
  options.max_length = static_cast<int64_t>(sorted[sorted.size() / 2]) + 1;
  int64_t expected = 0;
  for (size_t length : lengths) expected += static_cast<int64_t>(length) + 1 > options.max_length;
  ASSERT_GT(expected, 0);
  ASSERT_LT(expected, static_cast<int64_t>(lengths.size()));

  const json metrics = train_explainer(data, scratch_sources(f), options, dir + "/run");
  EXPECT_EQ(metrics.at("skipped").at("train").get<int64_t>(), expected);
  EXPECT_EQ(metrics.at("examples").at("train").get<int64_t>(),
            static_cast<int64_t>(lengths.size()) - expected);
}

// train_log.jsonl: training lines every log_every steps with the scheduled rate, one
// validation line per epoch; metrics.json agrees with the log and has the unigram baseline.
TEST(ExplainerTrainer, WritesLogMetricsAndRunFolder) {
  const std::string dir = test::scratch_dir();
  const Fixture f = make_fixture(dir);
  const Dataset data = load_dataset(f.data);
  auto options = tiny_options();
  options.epochs = 3;
  const std::string run = dir + "/run";
  const json metrics = train_explainer(data, scratch_sources(f), options, run);

  const int64_t steps_per_epoch =
      (static_cast<int64_t>(data.subset(Subset::train).size()) + options.batch_size - 1) /
      options.batch_size;
  const int64_t total = steps_per_epoch * options.epochs;
  const auto lines = log_lines(run);
  EXPECT_GE(lines.size(), 10u);
  int64_t training = 0, validation = 0;
  double best = 1e300;
  for (const auto& line : lines) {
    const int64_t step = line.at("step").get<int64_t>();
    if (line.contains("loss")) {
      ++training;
      EXPECT_EQ(step % options.log_every, 0);
      EXPECT_EQ(line.at("epoch").get<int64_t>(), (step - 1) / steps_per_epoch + 1);
      const int64_t s = step - 1;  // the rate of the last step of the window
      const double expected_lr =
          s < options.warmup_steps
              ? options.lr * (s + 1) / options.warmup_steps
              : options.lr * 0.5 *
                    (1 + std::cos(M_PI * (s - options.warmup_steps) /
                                  static_cast<double>(total - options.warmup_steps)));
      EXPECT_NEAR(line.at("lr").get<double>(), expected_lr, 1e-12) << line;
      EXPECT_GT(line.at("tokens_per_s").get<double>(), 0);
      EXPECT_TRUE(std::isfinite(line.at("loss").get<double>()));
    } else {
      ++validation;
      EXPECT_EQ(step, validation * steps_per_epoch);
      EXPECT_NEAR(line.at("val_ppl").get<double>(), std::exp(line.at("val_loss").get<double>()),
                  1e-9);
      best = std::min(best, line.at("val_loss").get<double>());
    }
  }
  EXPECT_EQ(training, total / options.log_every);
  EXPECT_EQ(validation, options.epochs);
  EXPECT_DOUBLE_EQ(metrics.at("best_val_loss").get<double>(), best);
  EXPECT_EQ(metrics.at("steps").get<int64_t>(), total);
  EXPECT_EQ(json::parse(test::read_text(run + "/metrics.json")), metrics);

  // The unigram baseline from the target tokens, counted here directly.
  const SentencePieceTokenizer tokenizer(run + "/tokenizer.model");
  PromptOptions prompt;
  prompt.max_length = options.max_length;
  std::map<int, double> counts;
  double n_train = 0, nll = 0, n_val = 0;
  for (Subset s : {Subset::train, Subset::validation})
    for (int64_t r : data.subset(s)) {
      const auto e = encode_example(tokenizer, data.records[r], prompt);
      for (size_t j = e->prompt_length; j < e->ids.size(); ++j) {
        if (s == Subset::train) {
          counts[e->ids[j]] += 1;
          n_train += 1;
        }
      }
    }
  const double vocab = tokenizer.vocab_size();
  for (int64_t r : data.subset(Subset::validation)) {
    const auto e = encode_example(tokenizer, data.records[r], prompt);
    for (size_t j = e->prompt_length; j < e->ids.size(); ++j) {
      nll -= std::log((counts[e->ids[j]] + 1) / (n_train + vocab));
      n_val += 1;
    }
  }
  EXPECT_NEAR(metrics.at("unigram_val_ppl").get<double>(), std::exp(nll / n_val), 1e-9);

  for (const char* file : {"tokenizer.model", "explainer.json", "explainer.safetensors",
                           "train_log.jsonl", "loss.svg", "metrics.json", "vae/vae.json"})
    EXPECT_TRUE(fs::exists(run + "/" + file)) << file;
  EXPECT_TRUE(fs::is_symlink(run + "/vae"));
  Explainer loaded = load_explainer_run(run);  // the run folder is complete
  EXPECT_EQ(loaded->trainable_count(), metrics.at("trainable_parameters").get<int64_t>());
}

// bf16 autocast (CPU here) follows the float32 run closely and ends below the unigram baseline.
TEST(ExplainerTrainer, Bf16AutocastTrains) {
  const std::string dir = test::scratch_dir();
  const Fixture f = make_fixture(dir);
  auto options = tiny_options();
  options.epochs = 4;
  const json fp = train_explainer(load_dataset(f.data), scratch_sources(f), options, dir + "/fp");
  options.bf16 = true;
  const json metrics =
      train_explainer(load_dataset(f.data), scratch_sources(f), options, dir + "/run");
  const double loss = metrics.at("best_val_loss").get<double>();
  EXPECT_NEAR(loss, fp.at("best_val_loss").get<double>(), 0.03 * loss);
  EXPECT_NE(loss, fp.at("best_val_loss").get<double>());  // bf16 did run
  EXPECT_LT(metrics.at("best_val_ppl").get<double>(), metrics.at("unigram_val_ppl").get<double>());
}

// End to end through the binary: the perplexity ends far below the unigram baseline; export.
TEST(TrainCli, PerplexityFarBelowUnigramAndExport) {
  const std::string dir = test::scratch_dir();
  const Fixture f = make_fixture(dir);
  const std::string run = dir + "/run";
  const auto result = test::run_gavamoe(
      "train --threads 1 --data " + f.data + " --vae " + f.vae + " --scratch " + f.model_config +
          " --out " + run +
          " --set train.epochs=8 --set train.batch_size=8 --set train.lr=3e-3"
          " --set train.warmup_steps=10 --set train.n_experts=3 --set train.expert_width=32"
          " --set train.max_length=64 --set train.vocab_size=400",
      dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("trainable parameters"), std::string::npos) << result.out;
  const json metrics = json::parse(test::read_text(run + "/metrics.json"));
  const double ppl = metrics.at("best_val_ppl").get<double>();
  const double unigram = metrics.at("unigram_val_ppl").get<double>();
  EXPECT_LT(ppl, 0.5 * unigram) << "validation perplexity " << ppl << ", unigram " << unigram;
  EXPECT_EQ(json::parse(test::read_text(run + "/config.json")).at("train").at("epochs"), 8);

  const std::string hf = dir + "/hf";
  const auto exported = test::run_gavamoe("export --run " + run + " --out " + hf, dir);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  for (const char* file : {"config.json", "model.safetensors", "explainer.json",
                           "explainer.safetensors", "tokenizer.model"})
    EXPECT_TRUE(fs::exists(hf + "/" + file)) << file;
  EXPECT_TRUE(is_exported_explainer(hf));
  const auto again = test::run_gavamoe("export --run " + run + " --out " + hf, dir);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
}

// The base folder of `kind`: "hf-bpe" the tiny chat base of model/tiny_chat_base.hpp (an HF
// folder with tokenizer.json, SmolLM2's specials and ChatML); "gguf"
// tests/golden/make_tiny_gguf.py's tied model (needs the test venv).
// "" with `skip` set when the kind cannot be made here.
std::string chat_base(const std::string& kind, const std::string& dir, std::string& skip) {
  if (kind == "hf-bpe") return test::write_tiny_chat_base(dir + "/base");
  const std::string python = test::venv_python();
  if (python.empty()) {
    skip = "no venv python (GAVAMOE_PYTHON): the GGUF base is written with gguf-py";
    return "";
  }
  const auto made = test::run_command(
      python + " " + test::source_path("tests/golden/make_tiny_gguf.py") + " " + dir, dir);
  if (made.exit_code != 0 && made.err.find("No module named") != std::string::npos) {
    skip = "the venv lacks gguf/transformers: " + made.err;
    return "";
  }
  EXPECT_EQ(made.exit_code, 0) << made.err;
  return dir + "/tied.gguf";
}

class PretrainedBase : public ::testing::TestWithParam<std::string> {};

// train --base-model on a pretrained chat base, then infer, export and generate as a user runs
// them: the run keeps the base's own tokenizer and settings, the prompts are ChatML-rendered
// without BOS, the base stays frozen, and the export is a loadable HF folder with tokenizer.json.
TEST_P(PretrainedBase, TrainInferExportGenerate) {
  const std::string dir = test::scratch_dir();
  std::string skip;
  const std::string base = chat_base(GetParam(), dir, skip);
  if (base.empty()) GTEST_SKIP() << skip;
  const Fixture f = make_fixture(dir);
  const std::string run = dir + "/run";
  const auto trained = test::run_gavamoe(
      "train --threads 1 --data " + f.data + " --vae " + f.vae + " --base-model " + base +
          " --out " + run +
          " --set train.epochs=1 --set train.batch_size=8 --set train.n_experts=2"
          " --set train.expert_width=32 --set train.max_length=256 --set train.lora_dropout=0",
      dir);
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_TRUE(fs::exists(run + "/tokenizer.json"));
  EXPECT_TRUE(fs::exists(run + "/tokenizer_config.json"));
  EXPECT_FALSE(fs::exists(run + "/tokenizer.model"));

  const auto base_tokenizer = load_pretrained_tokenizer(base);
  const auto run_tokenizer = load_tokenizer(run);
  const std::string sample = "The sound is <|im_end|> warm, caf\xc3\xa9  123 ok";
  EXPECT_EQ(run_tokenizer->encode(sample), base_tokenizer->encode(sample));
  EXPECT_EQ(run_tokenizer->chat_template(), base_tokenizer->chat_template());
  EXPECT_FALSE(run_tokenizer->adds_bos());

  const ExplainerRunInfo info = read_explainer_run_info(run);
  EXPECT_EQ(info.base_model, fs::absolute(base).lexically_normal().string());
  EXPECT_TRUE(info.options.pretrained_base);
  // The default template (auto) is the base's ChatML; the prompt opens the assistant's turn.
  const PromptOptions prompt = explainer_prompt_options(info, *run_tokenizer, "auto", 256);
  const Dataset data = load_dataset(f.data);
  const auto ids = encode_prompt(*run_tokenizer, data.records[0], prompt);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), run_tokenizer->piece_to_id("<|im_start|>"));
  const auto opening = run_tokenizer->encode("<|im_start|>assistant\n");
  ASSERT_GE(ids.size(), opening.size());
  EXPECT_EQ(std::vector<int>(ids.end() - opening.size(), ids.end()), opening);

  const json metrics = json::parse(test::read_text(run + "/metrics.json"));
  EXPECT_LT(metrics.at("trainable_parameters").get<int64_t>(),
            metrics.at("parameters").get<int64_t>());
  for (const auto& [name, tensor] : read_weights(run + "/explainer.safetensors"))
    EXPECT_FALSE(name.find("self_attn.q_proj.weight") != std::string::npos &&
                 name.find("lora") == std::string::npos)
        << name << " is a frozen base weight";

  const auto inferred = test::run_gavamoe(
      "infer --run " + run + " --limit 3 --max-new-tokens 4 --threads 1 --out " + dir + "/p.jsonl",
      dir);
  ASSERT_EQ(inferred.exit_code, 0) << inferred.err;
  std::istringstream lines(test::read_text(dir + "/p.jsonl"));
  int rows = 0;
  for (std::string line; std::getline(lines, line);) rows += !line.empty();
  EXPECT_EQ(rows, 3);

  const std::string hf = dir + "/hf";
  const auto exported = test::run_gavamoe("export --run " + run + " --out " + hf, dir);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_TRUE(is_exported_explainer(hf));
  EXPECT_EQ(load_tokenizer(hf)->encode(sample), base_tokenizer->encode(sample));
  const auto generated = test::run_gavamoe(
      "generate --model " + hf + " --chat --prompt hello --max-new-tokens 4 --json --threads 1",
      dir);
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  const json line = json::parse(generated.out);
  EXPECT_EQ(line.at("prompt_ids").front().get<int>(), run_tokenizer->piece_to_id("<|im_start|>"));
  EXPECT_LE(line.at("output_ids").size(), 4u);
}

// infer --zero-shot is the plain base on the explanation prompt with the placeholders written
// as words: each row's text is what `generate --chat` writes for that prompt, and its prompt ids
// are generate's (no placeholder id, the base's ChatML).
TEST(InferCli, ZeroShotIsThePlainBaseOnThePromptWithWords) {
  const std::string dir = test::scratch_dir();
  const std::string base = test::write_tiny_chat_base(dir + "/base");
  const Fixture f = make_fixture(dir);
  const std::string out = dir + "/zero-shot.jsonl";
  const auto inferred = test::run_gavamoe("infer --zero-shot --base-model " + base + " --vae " +
                                              f.vae + " --data " + f.data +
                                              " --set train.max_length=256 --limit 3"
                                              " --max-new-tokens 4 --batch-size 1 --threads 1"
                                              " --out " +
                                              out,
                                          dir);
  ASSERT_EQ(inferred.exit_code, 0) << inferred.err;

  const auto tokenizer = load_pretrained_tokenizer(base);
  const PlaceholderIds placeholders = placeholder_ids(*tokenizer);
  const Dataset data = load_dataset(f.data);
  const std::vector<int64_t> test_records = data.subset(Subset::test);
  std::istringstream lines(test::read_text(out));
  int rows = 0;
  for (std::string line; std::getline(lines, line); ++rows) {
    ASSERT_LT(rows, 3);
    const json row = json::parse(line);
    const Record& record = data.records[test_records[rows]];
    EXPECT_EQ(row.at("user").get<std::string>(), record.user);
    EXPECT_EQ(row.at("item").get<std::string>(), record.item);
    std::string prompt = explanation_prompt_text(record);
    prompt.replace(prompt.find("<item>"), 6, "the item");
    prompt.replace(prompt.find("<user>"), 6, "the user");
    const auto generated = test::run_gavamoe("generate --model " + base + " --chat --prompt '" +
                                                 prompt + "' --max-new-tokens 4 --json --threads 1",
                                             dir);
    ASSERT_EQ(generated.exit_code, 0) << generated.err;
    const json expected = json::parse(generated.out);
    EXPECT_EQ(row.at("generated").get<std::string>(), expected.at("text").get<std::string>());

    PromptOptions options;
    options.template_name = "auto";
    options.max_length = 256;
    options.add_bos = tokenizer->adds_bos();
    options.placeholders_as_words = true;
    const std::vector<int> ids = encode_prompt(*tokenizer, record, options);
    EXPECT_EQ(ids, expected.at("prompt_ids").get<std::vector<int>>());
    for (int id : ids) {
      EXPECT_NE(id, placeholders.user);
      EXPECT_NE(id, placeholders.item);
    }
  }
  EXPECT_EQ(rows, 3);

  // One of --run and --zero-shot; --zero-shot needs the VAE run. One line each, no output.
  for (const std::string& args :
       {"infer --zero-shot --base-model " + base + " --data " + f.data + " --out " + dir +
            "/a.jsonl",
        "infer --out " + dir + "/a.jsonl",
        "infer --zero-shot --vae " + f.vae + " --data " + f.data + " --out " + dir + "/a.jsonl"}) {
    const auto refused = test::run_gavamoe(args + " --threads 1", dir);
    EXPECT_EQ(refused.exit_code, 2) << args;
    EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
    EXPECT_FALSE(fs::exists(dir + "/a.jsonl"));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, PretrainedBase, ::testing::Values("hf-bpe", "gguf"),
                         [](const auto& info) {
                           return info.param == "gguf" ? std::string("gguf")
                                                       : std::string("hf_bpe");
                         });

// Every user error is one line, exit code 2, and no run outputs.
TEST(TrainCli, BadInputsAreClearErrors) {
  const std::string dir = test::scratch_dir();
  const Fixture f = make_fixture(dir);
  const std::string common =
      "train --threads 1 --scratch " + f.model_config + " --tokenizer " + f.tokenizer +
      " --set train.epochs=1 --set train.max_length=64 --set train.expert_width=32";
  auto expect_error = [&](const std::string& args, const std::string& message,
                          const std::string& run) {
    const auto result = test::run_gavamoe(common + " " + args + " --out " + run, dir);
    EXPECT_EQ(result.exit_code, 2) << args;
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(run + "/explainer.safetensors"));
    EXPECT_FALSE(fs::exists(run + "/metrics.json"));
  };
  // Ids the VAE was not trained with: 60 users where the VAE knows 40.
  const std::string more = synthetic_data(dir + "/more", 60);
  expect_error("--data " + more + " --vae " + f.vae, "unknown ids", dir + "/unknown");
  expect_error("--data " + f.data + " --vae " + dir + "/nowhere", "not a pretrain-vae run folder",
               dir + "/missing");
  expect_error("--data " + f.data + " --vae " + f.vae + " --set train.bogus=1",
               "unknown config key 'train.bogus'", dir + "/bogus");
  expect_error("--data " + f.data + " --vae " + f.vae + " --set train.lr=1e30",
               "loss is not finite", dir + "/nan");
  expect_error("--data " + f.data + " --vae " + f.vae + " --set train.base_dtype=bfloat16",
               "only a pretrained base (--base-model) can be bfloat16", dir + "/bf16");
  expect_error("--data " + f.data + " --vae " + f.vae + " --set train.base_dtype=float16",
               "'train.base_dtype' must be float32 or bfloat16", dir + "/f16");
  EXPECT_FALSE(fs::exists(dir + "/bf16"));
}

// The `train` command line of the data-parallel and device tests: the tiny model for 2 epochs.
std::string tiny_train_args(const Fixture& f) {
  return "train --threads 1 --data " + f.data + " --vae " + f.vae + " --scratch " + f.model_config +
         " --tokenizer " + f.tokenizer +
         " --set train.epochs=2 --set train.batch_size=8 --set train.lr=2e-3"
         " --set train.warmup_steps=4 --set train.max_length=64 --set train.expert_width=32"
         " --set train.log_every=1";
}

// Two runs of tiny_train_args took the same steps: loss curves and weights within `tolerance`.
void expect_same_run(const std::string& a_run, const std::string& b_run, double tolerance) {
  const auto a = log_lines(a_run), b = log_lines(b_run);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    const char* key = a[k].contains("loss") ? "loss" : "val_loss";
    EXPECT_NEAR(a[k].at(key).get<double>(), b[k].at(key).get<double>(), tolerance) << "line " << k;
  }
  EXPECT_LT(max_difference(a_run + "/explainer.safetensors", b_run + "/explainer.safetensors"),
            tolerance);
}

// --nproc 2 (gloo on the CPU) against one process with the same global batch: same loss curve
// and weights within 1e-5.
TEST(TrainCli, TwoProcessesMatchOneProcess) {
  const std::string dir = test::scratch_dir();
  const std::string args = tiny_train_args(make_fixture(dir)) + " --set train.device=cpu";
  const auto one = test::run_gavamoe(args + " --out " + dir + "/one", dir);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto two = test::run_gavamoe(args + " --out " + dir + "/two --nproc 2", dir);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  expect_same_run(dir + "/one", dir + "/two", 1e-5);
}

// On a GPU (skipped without one; scripts/gpu-check.sh runs it): train.device=cuda takes the
// CPU's steps within 1e-4 (float32; LibTorch leaves TF32 off; expert sums use atomics on CUDA).
TEST(TrainCli, CudaRunMatchesCpuRun) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = test::scratch_dir();
  const std::string args = tiny_train_args(make_fixture(dir));
  const auto cpu = test::run_gavamoe(args + " --set train.device=cpu --out " + dir + "/cpu", dir);
  ASSERT_EQ(cpu.exit_code, 0) << cpu.err;
  const auto gpu = test::run_gavamoe(args + " --set train.device=cuda --out " + dir + "/gpu", dir);
  ASSERT_EQ(gpu.exit_code, 0) << gpu.err;
  EXPECT_EQ(json::parse(test::read_text(dir + "/gpu/metrics.json")).at("device"), "cuda:0");
  expect_same_run(dir + "/cpu", dir + "/gpu", 1e-4);
}

// One NCCL rank per visible GPU (needs two) against one GPU process with the same global batch.
TEST(TrainCli, NcclRankPerGpuMatchesOneGpuProcess) {
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus < 2) GTEST_SKIP() << "needs 2 GPUs for NCCL ranks; " << gpus << " visible";
  const std::string dir = test::scratch_dir();
  const std::string args = tiny_train_args(make_fixture(dir)) + " --set train.device=cuda";
  const auto one = test::run_gavamoe(args + " --out " + dir + "/one", dir);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto ranks =
      test::run_gavamoe(args + " --out " + dir + "/ranks --nproc " + std::to_string(gpus), dir);
  ASSERT_EQ(ranks.exit_code, 0) << ranks.err;
  expect_same_run(dir + "/one", dir + "/ranks", 1e-4);
}

}  // namespace
}  // namespace gavamoe
