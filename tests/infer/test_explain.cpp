// Explaining records with an explainer run, and `gavamoe infer` end to end: rows complete and in
// record order with the clusters pretrain-vae gave, batched greedy == one by one, seeded
// sampling, prompts too long for max_length, unknown ids, --limit, the three formats read back
// by `gavamoe eval`, a bad run folder, and `gavamoe retrieve` (the baseline) on the same data.
//
// The run folder is made here: a tiny VAE run (pretrain-vae on `data synth` output), a
// tokenizer trained on the data, and an untrained from-scratch explainer (explainer.json,
// explainer.safetensors of its trainable parameters, config.json). Its text is noise, which is
// all these tests need.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/infer/explain.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// One fixture folder per process: ctest runs every test of the suite as its own process, in
// parallel, and each builds the fixture in SetUpTestSuite.
std::string shared_dir() {
  return std::string(GAVAMOE_TEST_SCRATCH) + "/ExplainRun.shared." + std::to_string(getpid());
}
std::string run_dir() { return shared_dir() + "/run"; }
std::string data_dir() { return shared_dir() + "/data"; }

void run_or_fail(const std::string& args, const std::string& dir) {
  const auto result = test::run_gavamoe(args, dir);
  ASSERT_EQ(result.exit_code, 0) << args << "\n" << result.err;
}

void write_explainer(const std::string& dir) {
  const SentencePieceTokenizer tokenizer(dir + "/run/tokenizer.model");
  const PlaceholderIds placeholders = placeholder_ids(tokenizer);
  ExplainerRunInfo info;
  info.options.n_experts = 3;
  info.options.expert_width = 24;
  info.options.top_k = 2;
  info.options.n_clusters = 2;
  info.options.user_token = placeholders.user;
  info.options.item_token = placeholders.item;
  info.vae_run = dir + "/vae";
  info.model_config = {{"vocab_size", tokenizer.vocab_size()},
                       {"hidden_size", 32},
                       {"intermediate_size", 48},
                       {"num_hidden_layers", 2},
                       {"num_attention_heads", 4},
                       {"num_key_value_heads", 2},
                       {"max_position_embeddings", 256},
                       {"initializer_range", 0.2},
                       {"bos_token_id", 1},
                       {"eos_token_id", 2}};
  Explainer explainer = build_explainer(info, 7);
  write_file_atomic(dir + "/run/explainer.json", info.to_json().dump(2));
  write_safetensors(dir + "/run/explainer.safetensors", explainer->trainable_parameters());
  RunConfig config;
  config.set("data.path=" + json(dir + "/data").dump());
  config.set("vae.clusters=2");
  config.write(dir + "/run/config.json");
}

class ExplainRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);
    const std::string dir = shared_dir();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/run");
    run_or_fail("data synth --out " + dir + "/data --users 40 --items 30 --clusters 2 " +
                    "--records 300 --seed 1",
                dir);
    run_or_fail("pretrain-vae --data " + dir + "/data --out " + dir + "/vae --clusters 2 " +
                    "--threads 1 --set vae.embedding_dim=8 --set vae.latent_dim=2 " +
                    "--set vae.encoder_layers=1 --set vae.encoder_heads=2 " +
                    "--set vae.encoder_ff=16 --set vae.decoder_hidden=[16] " +
                    "--set vae.pretrain_epochs=2 --set vae.vade_epochs=1 --set vae.device=cpu",
                dir);
    run_or_fail("data tokenizer --data " + dir + "/data --vocab-size 400 --out " + dir +
                    "/run/tokenizer.model",
                dir);
    write_explainer(dir);
  }

  static void TearDownTestSuite() { std::filesystem::remove_all(shared_dir()); }

  void SetUp() override {
    if (HasFatalFailure()) GTEST_SKIP();
    torch::set_num_threads(1);
  }

  static std::vector<Record> test_records(int64_t limit) {
    const Dataset data = load_dataset(data_dir());
    std::vector<Record> records;
    for (int64_t r : data.subset(Subset::test))
      if (static_cast<int64_t>(records.size()) < limit) records.push_back(data.records[r]);
    return records;
  }

  static ExplainOptions greedy(int64_t batch_size) {
    ExplainOptions options;
    options.generation.max_new_tokens = 6;
    options.batch_size = batch_size;
    return options;
  }
};

std::vector<std::string> generated_texts(const ExplainResult& result) {
  std::vector<std::string> texts;
  for (const PredictionRow& row : result.rows) texts.push_back(row.generated);
  return texts;
}

TEST_F(ExplainRun, RowsAreCompleteInRecordOrderWithTheVaeClusters) {
  ExplainerRun run = load_explainer_for_inference(run_dir());
  const auto records = test_records(9);
  const ExplainResult result = explain_records(run, records, greedy(4));
  ASSERT_EQ(result.rows.size(), records.size());
  EXPECT_EQ(result.skipped, 0);

  // pretrain-vae's clusters.jsonl, by (user, item): no pair repeats in synth data.
  std::map<std::pair<std::string, std::string>, int64_t> cluster_of;
  std::istringstream lines(test::read_text(shared_dir() + "/vae/clusters.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    cluster_of[{j["user"], j["item"]}] = j["cluster"];
  }
  int64_t tokens = 0;
  for (size_t r = 0; r < records.size(); ++r) {
    const PredictionRow& row = result.rows[r];
    EXPECT_EQ(row.user, records[r].user);
    EXPECT_EQ(row.item, records[r].item);
    EXPECT_EQ(row.rating, records[r].rating);
    EXPECT_EQ(row.feature, records[r].feature);
    EXPECT_EQ(row.reference, records[r].explanation);
    EXPECT_EQ(row.cluster, (cluster_of[{row.user, row.item}])) << r;
    EXPECT_GE(row.predicted_rating, 1.0);
    EXPECT_LE(row.predicted_rating, 5.0);
    EXPECT_GT(row.latency_ms, 0.0);
    tokens += static_cast<int64_t>(run.tokenizer->encode(row.generated).size());
  }
  EXPECT_GT(result.new_tokens, 0);
  EXPECT_LE(result.new_tokens, 6 * static_cast<int64_t>(records.size()));
  EXPECT_GT(result.records_per_second(), 0.0);
  EXPECT_GT(tokens, 0);  // the untrained model still writes something
}

TEST_F(ExplainRun, GreedyBatchedEqualsOneByOne) {
  ExplainerRun run = load_explainer_for_inference(run_dir());
  const auto records = test_records(7);
  const auto batched = generated_texts(explain_records(run, records, greedy(7)));
  const auto one_by_one = generated_texts(explain_records(run, records, greedy(1)));
  EXPECT_EQ(batched, one_by_one);
}

TEST_F(ExplainRun, SameSeedSameSamples) {
  ExplainerRun run = load_explainer_for_inference(run_dir());
  const auto records = test_records(6);
  ExplainOptions options = greedy(3);
  options.generation.sampling.sample = true;
  options.generation.sampling.temperature = 1.5;
  options.generation.seed = 3;
  const auto first = generated_texts(explain_records(run, records, options));
  EXPECT_EQ(first, generated_texts(explain_records(run, records, options)));
  options.generation.seed = 4;
  EXPECT_NE(first, generated_texts(explain_records(run, records, options)));
  EXPECT_NE(first, generated_texts(explain_records(run, records, greedy(3))));
}

TEST_F(ExplainRun, PromptsLongerThanMaxLengthAreSkippedAndCounted) {
  ExplainerRun run = load_explainer_for_inference(run_dir(), {"train.max_length=12"});
  const auto records = test_records(5);
  const ExplainResult result = explain_records(run, records, greedy(2));
  EXPECT_EQ(result.skipped, 5);
  EXPECT_TRUE(result.rows.empty());
}

TEST_F(ExplainRun, UnknownIdsAreNamedOrFallBack) {
  ExplainerRun run = load_explainer_for_inference(run_dir());
  auto records = test_records(3);
  records[1].user = "nobody";
  try {
    explain_records(run, records, greedy(2));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("user 'nobody'"), std::string::npos) << e.what();
  }
  ExplainerRun fallback = load_explainer_for_inference(run_dir(), {"vae.unknown_ids=fallback"});
  EXPECT_EQ(explain_records(fallback, records, greedy(2)).rows.size(), 3u);
}

TEST_F(ExplainRun, InferCliWritesEveryFormatForEval) {
  const std::string dir = test::scratch_dir();
  const std::string common = "infer --run " + run_dir() + " --limit 7 --max-new-tokens 5 " +
                             "--batch-size 3 --threads 1 --decode sample --seed 5 --out ";
  const auto jsonl = test::run_gavamoe(common + dir + "/p.jsonl", dir);
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  EXPECT_NE(jsonl.out.find("records/s"), std::string::npos) << jsonl.out;
  EXPECT_NE(jsonl.out.find("tokens/s"), std::string::npos) << jsonl.out;
  std::istringstream lines(test::read_text(dir + "/p.jsonl"));
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 7u);
  const auto records = test_records(7);
  for (size_t r = 0; r < rows.size(); ++r) EXPECT_EQ(rows[r]["user"], records[r].user);

  // --format wins over the extension.
  const auto csv = test::run_gavamoe(common + dir + "/p.txt --format csv", dir);
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const auto xlsx = test::run_gavamoe(common + dir + "/p.xlsx", dir);
  ASSERT_EQ(xlsx.exit_code, 0) << xlsx.err;
  EXPECT_EQ(test::read_text(dir + "/p.xlsx").substr(0, 2), "PK");

  // eval reads the CSV by its extension; same seed, same rows, same metrics.
  std::filesystem::copy_file(dir + "/p.txt", dir + "/p.csv");
  std::map<std::string, json> metrics;
  for (const char* name : {"p.jsonl", "p.csv"}) {
    const std::string pred = dir + "/" + name;
    const auto eval = test::run_gavamoe("eval --pred " + pred + " --out " + pred + ".json", dir);
    ASSERT_EQ(eval.exit_code, 0) << name << ": " << eval.err;
    metrics[name] = json::parse(test::read_text(pred + ".json"));
  }
  EXPECT_EQ(metrics["p.jsonl"], metrics["p.csv"]);
}

TEST_F(ExplainRun, InferCliOverridesAndCountsSkippedRecords) {
  const std::string dir = test::scratch_dir();
  const auto result = test::run_gavamoe("infer --run " + run_dir() + " --limit 3 --out " + dir +
                                            "/p.jsonl --set train.max_length=12 --threads 1",
                                        dir);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("3 of 3 records skipped"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/p.jsonl"));
}

TEST_F(ExplainRun, RetrieveCliWritesTrainingExplanationsOfTheSameItemForEval) {
  const std::string dir = test::scratch_dir();
  const auto result = test::run_gavamoe(
      "retrieve --data " + data_dir() + " --vae " + shared_dir() + "/vae --out " + dir + "/r.jsonl",
      dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Dataset data = load_dataset(data_dir());
  std::map<std::string, std::set<std::string>> texts_of_item;
  for (int64_t r : data.subset(Subset::train))
    texts_of_item[data.records[r].item].insert(data.records[r].explanation);
  std::istringstream lines(test::read_text(dir + "/r.jsonl"));
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  const auto records = test_records(1 << 20);
  ASSERT_EQ(rows.size(), records.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r]["reference"], records[r].explanation);
    const auto item = texts_of_item.find(records[r].item);
    if (item != texts_of_item.end()) {
      EXPECT_EQ(item->second.count(rows[r]["generated"].get<std::string>()), 1u) << r;
    }
  }
  const auto eval = test::run_gavamoe("eval --pred " + dir + "/r.jsonl --data " + data_dir(), dir);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("BLEU-1"), std::string::npos) << eval.out;

  const auto missing = test::run_gavamoe(
      "retrieve --data " + data_dir() + " --vae " + dir + "/none --out " + dir + "/m.jsonl", dir);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.jsonl"));
}

TEST_F(ExplainRun, BadRunFolderIsOneClearErrorAndNoOutput) {
  const std::string dir = test::scratch_dir();
  const auto missing = test::run_gavamoe(
      "infer --run " + dir + "/nothing --data " + data_dir() + " --out " + dir + "/p.jsonl", dir);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("not an explainer run folder"), std::string::npos) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;

  // A run folder whose weights do not fit its explainer.json.
  const std::string broken = dir + "/broken";
  std::filesystem::copy(run_dir(), broken);
  test::write_text(broken + "/explainer.safetensors", "not safetensors");
  const auto corrupt =
      test::run_gavamoe("infer --run " + broken + " --out " + dir + "/p.jsonl", dir);
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_NE(corrupt.err.find("explainer.safetensors"), std::string::npos) << corrupt.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/p.jsonl"));

  const auto format =
      test::run_gavamoe("infer --run " + run_dir() + " --out " + dir + "/p.txt", dir);
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--format"), std::string::npos) << format.err;
}

}  // namespace
}  // namespace gavamoe
