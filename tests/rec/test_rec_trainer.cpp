// The rec trainer on the shared loop: exact resume (N steps straight == k steps, kill, resume),
// a run folder that rec_run loads back, SASRec and MF learning planted sequential structure
// (well above popularity), and the plateau rule of ReduceLROnPlateau.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gavamoe/core/config.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/rec/full_ranking.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/rec/rec_trainer.hpp"
#include "gavamoe/train/plateau_schedule.hpp"
#include "rec_fixtures.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

// Users walk the items in order (i, i+1, ...), starting anywhere: the next item is predictable
// from the last one, popularity is nearly flat.
SequenceDataset walks(int64_t users, int64_t n_items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int64_t>> sequences;
  for (int64_t u = 0; u < users; ++u) {
    const int64_t start = static_cast<int64_t>(rng() % (n_items - 1));
    const int64_t length = 6 + static_cast<int64_t>(rng() % 6);
    std::vector<int64_t> items;
    for (int64_t k = 0; k < length; ++k) items.push_back(1 + (start + k) % (n_items - 1));
    sequences.push_back(items);
  }
  return test::make_sequences(sequences, n_items);
}

RecTrainOptions tiny_options(const std::string& model) {
  RecTrainOptions o = RecTrainOptions::from_config(RunConfig(), model, 5);
  o.sasrec.dim = 16;
  o.sasrec.heads = 2;
  o.sasrec.ffn = 32;
  o.sasrec.max_history = 4;
  o.sasrec.hidden_dropout = 0.2;
  o.sasrec.attn_dropout = 0.1;
  o.mf.dim = 16;
  o.negatives = 10;
  o.batch_size = 32;
  o.lr = 0.01;
  o.epochs = 3;
  o.device = "cpu";
  o.checkpoint_every = 0;
  return o;
}

std::map<std::string, torch::Tensor> saved(const std::string& path) {
  const SafetensorsReader reader(path);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& name : reader.names()) weights[name] = reader.load(name);
  return weights;
}

// The training log's lines without the throughput, which depends on the machine's load.
std::vector<nlohmann::json> log_without_timing(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);) {
    auto value = nlohmann::json::parse(line);
    value.erase("examples_per_s");
    lines.push_back(value);
  }
  return lines;
}

void expect_resume_is_exact(const std::string& model) {
  const std::string dir = test::scratch_dir();
  SequenceDataset data = walks(40, 30, 1);
  data.path = dir;
  RecTrainOptions o = tiny_options(model);
  const auto straight = train_recommender(data, o, dir + "/straight");
  ASSERT_FALSE(straight.value("stopped", false));
  o.stop_after_steps = 4;  // mid-epoch (the epochs have 8 steps)
  EXPECT_TRUE(train_recommender(data, o, dir + "/killed").value("stopped", false));
  EXPECT_FALSE(std::filesystem::exists(dir + "/killed/model.safetensors"));
  o.stop_after_steps = 0;
  o.seed = 99;  // ignored: a resumed run keeps its seed
  const auto resumed = resume_recommender(data, o, dir + "/killed");
  EXPECT_EQ(resumed.at("steps"), straight.at("steps"));
  EXPECT_EQ(resumed.at("validation"), straight.at("validation"));
  const auto a = saved(dir + "/straight/model.safetensors");
  const auto b = saved(dir + "/killed/model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  EXPECT_EQ(log_without_timing(dir + "/straight/train_log.jsonl"),
            log_without_timing(dir + "/killed/train_log.jsonl"));
}

TEST(RecTrainer, SasrecResumeIsExact) { expect_resume_is_exact("sasrec"); }
TEST(RecTrainer, MfResumeIsExact) { expect_resume_is_exact("mf"); }

void expect_learns(const std::string& model, int64_t epochs, double margin) {
  const std::string dir = test::scratch_dir();
  SequenceDataset data = walks(150, 40, 2);
  data.path = dir + "/data";
  write_sequence_folder(data.path, data);
  RecTrainOptions o = tiny_options(model);
  o.epochs = epochs;
  const auto metrics = train_recommender(read_sequence_folder(data.path), o, dir + "/run");
  const RecRun run = load_rec_run(dir + "/run");
  EXPECT_EQ(run.model, model);
  const SequenceDataset back = load_run_data(run);
  const auto split = leave_one_out(back, run.split);
  const double ndcg = evaluate_recommender(*run.recommender, back, split.test).mean("ndcg@10");
  const double pop =
      evaluate_item_scores(training_popularity(back, split), back, split.test).mean("ndcg@10");
  EXPECT_GT(ndcg, pop + margin) << model << ": " << ndcg << " vs popularity " << pop;
  EXPECT_EQ(metrics.at("epoch_seconds").size(), static_cast<size_t>(epochs));
  // The saved weights are the best validation's: its NDCG@10 is the one recorded.
  const double val = evaluate_recommender(*run.recommender, back, split.validation).mean("ndcg@10");
  EXPECT_NEAR(val, metrics.at("validation").at("ndcg@10").get<double>(), 1e-9);
}

TEST(RecTrainer, SasrecLearnsSequences) { expect_learns("sasrec", 4, 0.3); }
TEST(RecTrainer, MfLearnsUserTaste) { expect_learns("mf", 8, 0.1); }

TEST(PlateauSchedule, FollowsReduceLrOnPlateau) {
  // mode max, patience 1, threshold 1e-4 rel: two scores in a row that are not better cut it.
  PlateauSchedule plateau({0.1, 1, 1e-4, true});
  EXPECT_FALSE(plateau.step(0.5, 1.0));
  EXPECT_FALSE(plateau.step(0.50004, 1.0));  // not better than 0.5 * (1 + 1e-4)
  EXPECT_TRUE(plateau.step(0.6, 1.0) == false && plateau.scale() == 1.0);
  EXPECT_FALSE(plateau.step(0.59, 1.0));
  EXPECT_TRUE(plateau.step(0.58, 1.0));
  EXPECT_DOUBLE_EQ(plateau.scale(), 0.1);
  EXPECT_FALSE(plateau.step(0.57, 1.0));  // the count restarted
  PlateauSchedule off({1.0, 0, 1e-4, true});
  EXPECT_FALSE(off.step(1, 1.0));
  EXPECT_FALSE(off.step(0, 1.0));
  EXPECT_DOUBLE_EQ(off.scale(), 1.0);
  PlateauSchedule reloaded;
  reloaded.load_state(plateau.state(), "test");
  EXPECT_EQ(reloaded.state(), plateau.state());
}

}  // namespace
}  // namespace gavamoe
