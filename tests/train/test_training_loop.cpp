// The shared training loop (training_loop.hpp) on a real data-parallel gloo group: a 2-rank run
// takes one process's steps, a killed 2-rank run resumes exactly, and a checkpoint refuses
// another world size; the peak memory a run reports, against the kernel's, across a resume;
// real SIGINT and SIGTERM (to one process, to one rank of two, to the --nproc launcher) stop a
// run after a step with a checkpoint from which it resumes exactly.
//
// The ranks are this test binary started again through run_local_workers, filtered to
// TrainingLoopRank.Run, with the scenario and the run folder in environment variables; a rank
// whose checks fail exits non-zero and the test sees that exit code.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/interrupt.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/train/data_parallel.hpp"
#include "gavamoe/train/training_loop.hpp"
#include "test_util.hpp"
#include "training_runs.hpp"

namespace gavamoe {
namespace {

constexpr const char* kScenarioVariable = "GAVAMOE_TEST_LOOP_SCENARIO";
constexpr const char* kRunVariable = "GAVAMOE_TEST_LOOP_RUN";
constexpr const char* kFinalWeights = "final.safetensors";

// What LinearTask does besides its sums: raise `signal` in its `signal_at_call`-th loss (1 for
// the first; 0: never), and sleep `sleep_ms` in every one.
struct LossHooks {
  int64_t calls = 0;
  int64_t signal_at_call = 0;
  int signal = 0;
  int sleep_ms = 0;
};
LossHooks g_hooks;

// Weighted least squares of a linear model on fixed random points: the examples weigh 1, 2 or
// 3, so a step's normaliser is not its example count, and nothing is random after the data.
class LinearTask : public TrainingTask {
 public:
  explicit LinearTask(torch::nn::Linear& model) : model_(model) {
    torch::manual_seed(11);
    x_ = torch::randn({kTrain + kValid, 4});
    y_ = x_.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f})) +
         0.1f * torch::randn({kTrain + kValid});
  }
  int64_t size() const override { return kTrain; }
  double weight(int64_t example) const override { return 1.0 + example % 3; }
  torch::Tensor loss(const std::vector<int64_t>& examples, uint64_t) override {
    if (++g_hooks.calls == g_hooks.signal_at_call) std::raise(g_hooks.signal);
    if (g_hooks.sleep_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(g_hooks.sleep_ms));
    const auto rows = torch::tensor(examples, torch::kLong);
    const auto weights = (rows % 3 + 1).to(torch::kFloat);
    const auto error =
        model_->forward(x_.index_select(0, rows)).squeeze(1) - y_.index_select(0, rows);
    return (weights * error * error).sum();
  }
  Validation validate() override {
    const auto error =
        model_->forward(x_.narrow(0, kTrain, kValid)).squeeze(1) - y_.narrow(0, kTrain, kValid);
    Validation v;
    v.score = (error * error).mean().item<double>();
    return v;
  }

 private:
  static constexpr int64_t kTrain = 37, kValid = 16;  // 37: shares and micro-batches uneven
  torch::nn::Linear& model_;
  torch::Tensor x_, y_;
};

TrainingLoopOptions loop_options() {
  TrainingLoopOptions o;
  o.epochs = 3;
  o.batch_size = 5;
  o.grad_accum = 2;
  o.lr = 0.05;
  o.warmup_steps = 2;
  o.schedule = "linear";
  o.grad_clip = 2.0;
  o.patience = 5;
  o.higher_is_better = false;
  o.log_every = 1;
  o.seed = 3;
  return o;
}

// Trains a fresh model into `run_dir` (or resumes it) and writes the final weights of this rank
// to final.safetensors (rank r > 0: final<r>.safetensors).
TrainingResult train_linear(const std::string& run_dir, bool resume, int64_t stop_after_steps,
                            DataParallel* parallel) {
  torch::set_num_threads(1);
  torch::manual_seed(parallel ? 100 + parallel->rank() : 100);  // the broadcast evens this out
  torch::nn::Linear model(4, 1);
  LinearTask task(model);
  TrainingLoopOptions o = loop_options();
  o.stop_after_steps = stop_after_steps;
  const TrainingResult result = run_training(*model, task, o, run_dir, resume, parallel);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& item : model->named_parameters()) weights[item.key()] = item.value().detach();
  const int rank = parallel ? parallel->rank() : 0;
  write_safetensors(run_dir + "/" +
                        (rank == 0 ? std::string(kFinalWeights)
                                   : "final" + std::to_string(rank) + ".safetensors"),
                    weights);
  return result;
}

// Runs `scenario` in 2 ranks of this binary on `run_dir`; returns run_local_workers' exit code.
int run_ranks(const std::string& scenario, const std::string& run_dir) {
  struct Environment {
    Environment(const std::string& scenario, const std::string& run_dir) {
      setenv(kScenarioVariable, scenario.c_str(), 1);
      setenv(kRunVariable, run_dir.c_str(), 1);
    }
    ~Environment() {
      unsetenv(kScenarioVariable);
      unsetenv(kRunVariable);
    }
  } environment(scenario, run_dir);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  return run_local_workers(2, {self, "--gtest_filter=TrainingLoopRank.Run", "--gtest_brief=1"});
}

TEST(TrainingLoopRank, Run) {
  const char* scenario = std::getenv(kScenarioVariable);
  if (!scenario)
    GTEST_SKIP() << "one rank of the training loop's data-parallel tests; they start it";
  const std::string name = scenario, run_dir = std::getenv(kRunVariable);
  DataParallel group(ParallelEnvironment::from_environment(), "gloo", std::chrono::seconds(60));
  if (name == "interrupt_rank1" || name == "launcher_interrupted") {
    // interrupt_rank1: rank 1 alone is sent SIGTERM in its 5th loss (step 3: 2 micro-batches
    // a step, and rank 1 has a share of each); launcher_interrupted: the test sends the launcher
    // SIGINT while every loss takes 200 ms. Both ranks stop after the same step either way.
    if (name == "interrupt_rank1" && group.rank() == 1) g_hooks = {0, 5, SIGTERM, 0};
    if (name == "launcher_interrupted") g_hooks = {0, 0, 0, 200};
    try {
      train_linear(run_dir, false, 0, &group);
      ADD_FAILURE() << "the run was not interrupted";
    } catch (const Interrupted& e) {
      const int expected = name == "interrupt_rank1" ? SIGTERM : SIGINT;
      EXPECT_EQ(e.exit_code(), 128 + expected);
      const auto state = read_json_file(run_dir + "/checkpoint/state.json");
      const int64_t step = state.at("step").get<int64_t>();
      if (name == "interrupt_rank1") {
        EXPECT_EQ(step, 3);
      }
      EXPECT_EQ(std::string(e.what()).empty(), group.rank() != 0) << e.what();
      // Each rank stopped after the checkpoint's step: it took 2 micro-batches a step.
      EXPECT_EQ(g_hooks.calls, 2 * step);
      // As the CLI does: exit as the signal would have, unless a check failed.
      std::exit(::testing::Test::HasFailure() ? 1 : e.exit_code());
    }
    return;
  }
  const bool killed = name == "killed";
  const TrainingResult result = train_linear(run_dir, name == "resume", killed ? 6 : 0, &group);
  EXPECT_EQ(result.stopped, killed);
  // Both ranks hold the same weights, bit for bit.
  if (group.rank() == 1) {
    group.barrier();  // rank 0 has written its final weights
    EXPECT_EQ(test::max_difference(run_dir + "/" + kFinalWeights, run_dir + "/final1.safetensors"),
              0.0);
  } else {
    group.barrier();
  }
}

// Two ranks, each taking its share of every micro-batch, take one process's steps.
TEST(TrainingLoop, TwoRanksTakeTheStepsOfOneProcess) {
  const std::string dir = test::scratch_dir();
  const TrainingResult one = train_linear(dir + "/one", false, 0, nullptr);
  EXPECT_EQ(one.steps, 12);  // 8 micro-batches of 5 (the last of 2) in 4 steps, 3 epochs
  ASSERT_EQ(run_ranks("straight", dir + "/two"), 0);
  test::expect_same_training(dir + "/one", dir + "/two", kFinalWeights, 1e-5);
}

// A 2-rank run killed mid-epoch (step 6 of 12) resumes with 2 ranks to the uninterrupted run's
// weights; one process may not resume it.
TEST(TrainingLoop, TwoRankRunResumesExactlyWithTwoRanksOnly) {
  const std::string dir = test::scratch_dir();
  ASSERT_EQ(run_ranks("straight", dir + "/straight"), 0);
  ASSERT_EQ(run_ranks("killed", dir + "/killed"), 0);
  try {
    train_linear(dir + "/killed", true, 0, nullptr);
    ADD_FAILURE() << "one process resumed a 2-rank checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("written by 2 process(es); resume it with --nproc 2"),
              std::string::npos)
        << e.what();
  }
  ASSERT_EQ(run_ranks("resume", dir + "/killed"), 0);
  test::expect_same_training(dir + "/straight", dir + "/killed", kFinalWeights, 1e-12);
  EXPECT_EQ(
      test::max_difference(dir + "/straight/" + kFinalWeights, dir + "/killed/" + kFinalWeights),
      0.0);
}

// The peak resident memory of this process, from the kernel's own account (VmHWM, KiB), in MiB.
double status_peak_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  double kib = 0;
  while (status >> key) {
    if (key == "VmHWM:") {
      status >> kib;
      break;
    }
  }
  return kib / 1024.0;
}

// A run's peak memory is the process's own (the kernel's VmHWM), is kept in the checkpoint, and a
// resumed run reports the larger of its own and the processes' before it.
TEST(TrainingLoop, PeakMemoryIsTheProcessesAndOutlivesAResume) {
  const std::string dir = test::scratch_dir() + "/run";
  EXPECT_TRUE(train_linear(dir, false, 6, nullptr).stopped);
  const std::string state_path = dir + "/checkpoint/state.json";
  nlohmann::json state = read_json_file(state_path);
  const double saved = state.at("peak_rss_mib").get<double>(), kernel = status_peak_mib();
  EXPECT_GT(saved, 10.0);  // a process with torch loaded holds tens of MiB at least
  EXPECT_LE(saved, kernel + 1e-9);
  EXPECT_GE(saved, 0.95 * kernel);  // the small run after it grows the peak by little, if at all

  state["peak_rss_mib"] = 1e6;  // as if an earlier process had peaked far higher
  std::ofstream(state_path) << state.dump() << "\n";
  const TrainingResult resumed = train_linear(dir, true, 0, nullptr);
  EXPECT_FALSE(resumed.stopped);
  EXPECT_EQ(resumed.peak_rss_mib, 1e6);
}

// SIGTERM's disposition now, as a sigaction handler value.
void (*sigterm_handler())(int) {
  struct sigaction action {};
  sigaction(SIGTERM, nullptr, &action);
  return action.sa_handler;
}

// A SIGTERM during step 5's micro-batch stops the run after step 5 with a checkpoint and an
// Interrupted that says where; the signal's default action is back after the run, and the
// resumed run ends with the uninterrupted run's weights, bit for bit.
TEST(TrainingLoop, InterruptStopsAfterTheStepWithACheckpointAndResumesExactly) {
  const std::string dir = test::scratch_dir();
  train_linear(dir + "/straight", false, 0, nullptr);
  g_hooks = {0, 9, SIGTERM, 0};  // the 9th micro-batch: the first of step 5
  try {
    train_linear(dir + "/interrupted", false, 0, nullptr);
    ADD_FAILURE() << "the run was not interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.exit_code(), 143);
    EXPECT_NE(std::string(e.what()).find("train: interrupted by SIGTERM after step 5 (epoch 2, "
                                         "step 1 of 4), checkpoint saved; resume with --resume " +
                                         dir + "/interrupted"),
              std::string::npos)
        << e.what();
  }
  g_hooks = {};
  EXPECT_EQ(sigterm_handler(), SIG_DFL);
  EXPECT_FALSE(std::filesystem::exists(dir + "/interrupted/" + kFinalWeights));
  EXPECT_EQ(read_json_file(dir + "/interrupted/checkpoint/state.json").at("step"), 5);
  const TrainingResult resumed = train_linear(dir + "/interrupted", true, 0, nullptr);
  EXPECT_EQ(resumed.steps, 12);
  test::expect_same_training(dir + "/straight", dir + "/interrupted", kFinalWeights, 1e-12);
  EXPECT_EQ(test::max_difference(dir + "/straight/" + kFinalWeights,
                                 dir + "/interrupted/" + kFinalWeights),
            0.0);
}

// A process started with SIGTERM ignored (as a script's background job is with SIGINT) keeps
// ignoring it in a run: nothing stops.
TEST(TrainingLoop, AnIgnoredSignalStaysIgnored) {
  std::signal(SIGTERM, SIG_IGN);
  g_hooks = {0, 3, SIGTERM, 0};
  const TrainingResult result = train_linear(test::scratch_dir() + "/run", false, 0, nullptr);
  g_hooks = {};
  EXPECT_EQ(sigterm_handler(), SIG_IGN);
  std::signal(SIGTERM, SIG_DFL);
  EXPECT_EQ(result.steps, 12);
}

// SIGTERM to one rank of two stops both after the same step (the rank checks that); the two
// resume to the uninterrupted run.
TEST(TrainingLoop, InterruptOfOneRankStopsBothAtTheSameStep) {
  const std::string dir = test::scratch_dir();
  ASSERT_EQ(run_ranks("straight", dir + "/straight"), 0);
  EXPECT_EQ(run_ranks("interrupt_rank1", dir + "/interrupted"), 128 + SIGTERM);
  ASSERT_EQ(run_ranks("resume", dir + "/interrupted"), 0);
  test::expect_same_training(dir + "/straight", dir + "/interrupted", kFinalWeights, 1e-12);
}

// The --nproc launcher passes a SIGINT sent to it on to its workers, which stop at a checkpoint;
// the launcher then throws Interrupted, and the run resumes to the uninterrupted one.
TEST(TrainingLoop, LauncherPassesAnInterruptOnToItsWorkers) {
  const std::string dir = test::scratch_dir();
  ASSERT_EQ(run_ranks("straight", dir + "/straight"), 0);
  const std::string log = dir + "/interrupted/train_log.jsonl";
  // This process ignores a SIGINT that comes when the launcher is not there to take it.
  std::signal(SIGINT, [](int) {});
  // Once the workers have logged a step (each step takes 400 ms), SIGINT to this process.
  std::thread sender([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(log);
      std::string line;
      if (std::getline(in, line) && !line.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(::getpid(), SIGINT);
  });
  try {
    run_ranks("launcher_interrupted", dir + "/interrupted");
    ADD_FAILURE() << "the launcher was not interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal(), SIGINT);
  }
  sender.join();
  std::signal(SIGINT, SIG_DFL);
  const int64_t step =
      read_json_file(dir + "/interrupted/checkpoint/state.json").at("step").get<int64_t>();
  EXPECT_GE(step, 1);
  EXPECT_LT(step, 12);
  ASSERT_EQ(run_ranks("resume", dir + "/interrupted"), 0);
  test::expect_same_training(dir + "/straight", dir + "/interrupted", kFinalWeights, 1e-12);
}

}  // namespace
}  // namespace gavamoe
