// Settings and leftovers as a user meets them: values that mean nothing are refused before a
// run folder exists, option ranges and wrong path kinds are one line, stale temporaries are
// removed, a run names its dataset absolutely, and retrieve refuses unknown ids as infer does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using test::run_gavamoe;

// Far above any pid_max, so no live process has it.
constexpr const char* kDeadPid = "999999999";

// A small VAE run is enough for every check here.
const std::string kTinyVae =
    " --threads 1 --set vae.embedding_dim=8 --set vae.latent_dim=2 --set vae.encoder_layers=1"
    " --set vae.encoder_heads=2 --set vae.encoder_ff=16 --set vae.decoder_hidden=[16]"
    " --set vae.pretrain_epochs=1 --set vae.vade_epochs=1 --set vae.device=cpu";

int lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::string synth(const std::string& dir) {
  const auto made = run_gavamoe("data synth --out " + dir + "/data --users 30 --items 20 " +
                                    "--clusters 2 --records 120 --log-level warn",
                                dir);
  EXPECT_EQ(made.exit_code, 0) << made.err;
  return dir + "/data";
}

// `args` ends with --out RUN: exit 2, one line containing `expected`, and no RUN folder.
void expect_refused(const std::string& args, const std::string& expected, const std::string& dir) {
  const std::string run = dir + "/run";
  const auto result = run_gavamoe(args + " --out " + run + " --log-level warn", dir);
  EXPECT_EQ(result.exit_code, 2) << args << "\n" << result.err;
  EXPECT_NE(result.err.find(expected), std::string::npos) << args << "\n" << result.err;
  EXPECT_EQ(lines(result.err), 1) << args << "\n" << result.err;
  EXPECT_FALSE(fs::exists(run)) << args;
}

TEST(Settings, MeaninglessValuesAreRefusedBeforeTheRunFolderExists) {
  const std::string dir = test::scratch_dir();
  const std::string data = synth(dir);
  const std::string vae = "pretrain-vae --data " + data;
  expect_refused(vae + " --set vae.pretrain_lr=0",
                 "--set vae.pretrain_lr=0: config key 'vae.pretrain_lr' must be greater than 0, "
                 "got 0",
                 dir);
  expect_refused(vae + " --set vae.pretrain_batch_size=0",
                 "'vae.pretrain_batch_size' must be at least 1, got 0", dir);
  expect_refused(vae + " --set vae.vade_epochs=0", "'vae.vade_epochs' must be at least 1", dir);
  expect_refused(vae + " --set vae.dropout=2", "'vae.dropout' must be at least 0 and less than 1",
                 dir);
  expect_refused(vae + " --set vae.device=tpu",
                 "'vae.device' must be auto, cpu or cuda, got \"tpu\"", dir);
  expect_refused(vae + " --set vae.decoder_hidden=[16,0]",
                 "'vae.decoder_hidden' must be a list of values at least 1, got [16,0]", dir);
  expect_refused(vae + " --set vae.encoder_heads=3",
                 "'vae.embedding_dim' (64) must be a multiple of vae.encoder_heads (3)", dir);
  expect_refused(vae + " --clusters 500",
                 "'vae.clusters' (500) is more than the 96 training records of", dir);
  test::write_text(dir + "/bad.json", R"({"vae": {"kl_every": 0}})");
  expect_refused(vae + " --config " + dir + "/bad.json",
                 "bad.json: config key 'vae.kl_every' must be at least 1, got 0", dir);

  // train: the checks before a VAE run is even read, then those that need the sources.
  fs::create_directories(dir + "/vae");
  test::write_text(dir + "/vae/vae.json", "{}");
  const std::string train = "train --data " + data + " --vae " + dir + "/vae --scratch " +
                            test::source_path("configs/model-tiny.json");
  expect_refused(train + " --set train.lr=0", "'train.lr' must be greater than 0, got 0", dir);
  expect_refused(train + " --set train.lr=-1e-3", "'train.lr' must be greater than 0", dir);
  expect_refused(train + " --set train.batch_size=0", "'train.batch_size' must be at least 1", dir);
  expect_refused(train + " --set train.epochs=0", "'train.epochs' must be at least 1", dir);
  expect_refused(train + " --set train.device=gpu", "'train.device' must be auto, cpu or cuda",
                 dir);
  expect_refused(train + " --set train.top_k=5",
                 "'train.top_k' (5) must be at most train.n_experts (4)", dir);
  expect_refused(train + " --set train.moe_layers=[0,4]",
                 "'train.moe_layers': layer 4 is past the base's 4 layers (0..3)", dir);
  expect_refused(train + " --set train.template=nope", "'train.template' must be one of auto,",
                 dir);
  expect_refused(train + " --set train.max_length=1000",
                 "'train.max_length' (1000) exceeds the model's max_position_embeddings (256)",
                 dir);
  expect_refused(train + " --tokenizer " + dir, "is a folder; --tokenizer takes", dir);
  expect_refused("train --data " + data + " --vae " + data + " --scratch x",
                 "not a pretrain-vae run folder (no vae.json)", dir);

  expect_refused("rec train --data " + data + " --set rec.sasrec_lr=0",
                 "'rec.sasrec_lr' must be greater than 0", dir);
  expect_refused("rec train --data " + data + " --set rec.sasrec_heads=3",
                 "'rec.sasrec_dim' (256) must be a multiple of rec.sasrec_heads (3)", dir);
  expect_refused("infer --run " + dir + "/vae --set infer.top_p=0",
                 "'infer.top_p' must be greater than 0 and at most 1, got 0", dir);
  expect_refused("infer --run " + dir + "/vae --set infer.decode=best",
                 "'infer.decode' must be greedy, sample or beam", dir);
}

TEST(Settings, OptionRangesAndWrongPathKindsAreOneLine) {
  const std::string dir = test::scratch_dir();
  const std::string data = synth(dir);
  const auto split = run_gavamoe("data stats --data " + data + " --split 7", dir);
  EXPECT_EQ(split.exit_code, 2);
  EXPECT_NE(split.err.find("--split: must be an integer from 1 to 5, got 7"), std::string::npos)
      << split.err;
  EXPECT_EQ(lines(split.err), 1) << split.err;
  for (const char* option : {"--beams 0", "--top-p 2", "--temperature 0", "--batch-size x"}) {
    const auto result = run_gavamoe("infer --run r --out o.jsonl " + std::string(option), dir);
    EXPECT_EQ(result.exit_code, 2) << option;
    EXPECT_EQ(lines(result.err), 1) << result.err;
    EXPECT_EQ(result.err.find("179769"), std::string::npos) << result.err;
  }
  EXPECT_NE(run_gavamoe("infer --run r --out o --beams 0", dir)
                .err.find("--beams: must be an integer of at least 1, got 0"),
            std::string::npos);
  EXPECT_NE(run_gavamoe("infer --run r --out o --top-p 2", dir)
                .err.find("--top-p: must be a number from 0 to 1, got 2"),
            std::string::npos);
  EXPECT_NE(run_gavamoe("infer --run r --out o --temperature 0", dir)
                .err.find("--temperature: must be a number greater than 0, got 0"),
            std::string::npos);

  // A folder where a file is expected, and a file where a folder is expected.
  const auto folder = run_gavamoe("data stats --data " + data + " --config " + data, dir);
  EXPECT_EQ(folder.exit_code, 2);
  EXPECT_NE(folder.err.find(data + ": is a folder; a file is expected here"), std::string::npos)
      << folder.err;
  EXPECT_EQ(lines(folder.err), 1) << folder.err;
  test::write_text(dir + "/file", "x");
  const auto file = run_gavamoe("data synth --out " + dir + "/file --records 50", dir);
  EXPECT_EQ(file.exit_code, 2);
  EXPECT_NE(file.err.find(dir + "/file: is a file; a folder is expected here"), std::string::npos)
      << file.err;
  EXPECT_EQ(lines(file.err), 1) << file.err;
}

TEST(Settings, DataStatsReportsBadRatings) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/r.jsonl",
                   R"({"user": "a", "item": "x", "rating": 7, "explanation": "nice"}
{"user": "b", "item": "x", "rating": 4.5, "explanation": "ok"}
)");
  const auto result = run_gavamoe("data stats --data " + dir + "/r.jsonl", dir);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("2 ratings outside 1..5 or not integral"), std::string::npos)
      << result.err;
}

TEST(Settings, StaleTemporariesAreRemovedAndTheDataPathIsAbsolute) {
  const std::string dir = test::scratch_dir();
  synth(dir);
  // Leftovers of killed writers next to an output folder, and one of a live process (this test).
  const std::string live = std::to_string(::getpid());
  fs::create_directories(dir + "/data2.tmp-" + kDeadPid + "/1");
  test::write_text(dir + "/data2.tmp-" + live, "");
  const auto made = run_gavamoe("data synth --out " + dir + "/data2 --records 60", dir);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_FALSE(fs::exists(dir + "/data2.tmp-" + kDeadPid));
  EXPECT_NE(
      made.err.find("data2.tmp-" + std::string(kDeadPid) + ", left by a process that is gone"),
      std::string::npos)
      << made.err;
  EXPECT_TRUE(fs::exists(dir + "/data2.tmp-" + live));

  // In a run folder (and its subfolders): a relative --data, stored absolute.
  fs::create_directories(dir + "/run/checkpoint");
  test::write_text(dir + "/run/config.json.tmp-" + kDeadPid, "{");
  test::write_text(dir + "/run/checkpoint/state.json.tmp-" + kDeadPid, "{");
  const auto run =
      test::run_command("cd " + test::quote(dir) + " && " + GAVAMOE_BINARY +
                            " pretrain-vae --data data --clusters 2 --out run" + kTinyVae,
                        dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(fs::exists(dir + "/run/config.json.tmp-" + kDeadPid));
  EXPECT_FALSE(fs::exists(dir + "/run/checkpoint/state.json.tmp-" + kDeadPid));
  const auto config = nlohmann::json::parse(test::read_text(dir + "/run/config.json"));
  EXPECT_EQ(config["data"]["path"], fs::absolute(dir + "/data").lexically_normal().string());

  // retrieve refuses ids the VAE run does not know, as infer does, unless told to fall back.
  test::write_text(dir + "/strangers.jsonl",
                   test::read_text(dir + "/data/reviews.jsonl") +
                       R"({"user": "stranger", "item": "i0001", "rating": 4, "feature": "f", )"
                       R"("explanation": "fine f"})" +
                       "\n");
  const std::string retrieve =
      "retrieve --data " + dir + "/strangers.jsonl --vae " + dir + "/run --out " + dir + "/r.jsonl";
  const auto refused = run_gavamoe(retrieve, dir);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("unknown ids (1): "), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("stranger"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("vae.unknown_ids=fallback"), std::string::npos) << refused.err;
  EXPECT_EQ(lines(refused.err), 1) << refused.err;
  EXPECT_FALSE(fs::exists(dir + "/r.jsonl"));
  const auto fallback = run_gavamoe(retrieve + " --set vae.unknown_ids=fallback", dir);
  EXPECT_EQ(fallback.exit_code, 0) << fallback.err;
  EXPECT_TRUE(fs::exists(dir + "/r.jsonl"));

  // The dataset moved: a resume names the run's config.json.
  fs::rename(dir + "/data", dir + "/moved");
  const auto resumed = run_gavamoe("pretrain-vae --resume " + dir + "/run", dir);
  EXPECT_EQ(resumed.exit_code, 2);
  EXPECT_NE(resumed.err.find(dir + "/run/config.json: data.path " + dir + "/data does not exist"),
            std::string::npos)
      << resumed.err;
  EXPECT_EQ(lines(resumed.err), 1) << resumed.err;
}

}  // namespace
}  // namespace gavamoe
