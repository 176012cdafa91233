// DataParallel and run_local_workers on real gloo groups of separate processes (and NCCL groups,
// one rank per GPU, on a machine with GPUs).
//
// A multi-process test starts this test binary again through run_local_workers, filtered to
// DataParallelRank.Run, with a scenario in GAVAMOE_TEST_PARALLEL. Every rank checks its results
// against values it computes directly (all ranks' inputs come from seeds) and exits non-zero
// when a check fails; the test then sees that exit code. Gradient values are integers, so
// sums are exact in any order.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "gavamoe/core/error.hpp"
#include "gavamoe/train/data_parallel.hpp"
#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kScenarioVariable = "GAVAMOE_TEST_PARALLEL";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `scenario` in `nproc` ranks of this binary; returns run_local_workers' exit code.
int run_ranks(const std::string& scenario, int nproc = 2) {
  setenv(kScenarioVariable, scenario.c_str(), 1);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const int code =
      run_local_workers(nproc, {self, "--gtest_filter=DataParallelRank.Run", "--gtest_brief=1"});
  unsetenv(kScenarioVariable);
  return code;
}

// The integer-valued tensor that rank `rank` holds in slot `slot`.
torch::Tensor rank_values(int rank, int slot, at::IntArrayRef shape, torch::Dtype dtype) {
  torch::manual_seed(1000 * rank + slot);
  return torch::randint(-1000, 1000, shape, torch::TensorOptions().dtype(dtype));
}

struct Slot {
  std::vector<int64_t> shape;
  torch::Dtype dtype;
};

// Mixed sizes and dtypes; with 4 KB buckets several tensors are larger than a bucket.
const std::vector<Slot> kSlots = {
    {{3}, torch::kFloat32},      {{40, 50}, torch::kFloat32}, {{7}, torch::kFloat64},
    {{10, 10}, torch::kFloat64}, {{300}, torch::kFloat32},    {{1}, torch::kFloat32},
    {{2000}, torch::kFloat64},   {{5, 5}, torch::kFloat32},   {{600, 1000}, torch::kFloat32}};

// Parameters whose gradients come from rank_values; slot 2 has no gradient on rank 1 (an
// unused expert) and a frozen parameter sits between the others. Slot 3's gradient is not
// contiguous.
std::vector<torch::Tensor> parameters_with_gradients(int rank, torch::Device device) {
  std::vector<torch::Tensor> parameters;
  for (size_t slot = 0; slot < kSlots.size(); ++slot) {
    const auto& [shape, dtype] = kSlots[slot];
    auto parameter =
        torch::zeros(shape, torch::TensorOptions().dtype(dtype).device(device)).requires_grad_();
    const auto values = rank_values(rank, static_cast<int>(slot), shape, dtype).to(device);
    if (slot == 3)
      parameter.mutable_grad() = values.t().contiguous().t();
    else if (!(slot == 2 && rank == 1))
      parameter.mutable_grad() = values;
    parameters.push_back(parameter);
    if (slot == 4) parameters.push_back(torch::ones({8}, device));  // frozen: not summed
  }
  return parameters;
}

void check_gradient_sums(DataParallel& group) {
  auto parameters = parameters_with_gradients(group.rank(), group.device());
  group.all_reduce_gradients(parameters);
  size_t slot = 0;
  for (const auto& parameter : parameters) {
    if (!parameter.requires_grad()) {
      EXPECT_FALSE(parameter.grad().defined());
      continue;
    }
    const auto& [shape, dtype] = kSlots[slot];
    auto expected = torch::zeros(shape, torch::TensorOptions().dtype(dtype));
    for (int rank = 0; rank < group.world_size(); ++rank)
      if (!(slot == 2 && rank == 1))
        expected += rank_values(rank, static_cast<int>(slot), shape, dtype);
    EXPECT_EQ(parameter.grad().device(), group.device());
    EXPECT_TRUE(torch::equal(parameter.grad().cpu(), expected)) << "slot " << slot;
    ++slot;
  }
}

void gradients_scenario(const ParallelEnvironment& env) {
  EXPECT_EQ(env.world_size, 2);
  EXPECT_EQ(env.local_rank, env.rank);
  EXPECT_EQ(env.master_addr, "127.0.0.1");
  DataParallel group(env, "gloo", seconds(60));
  EXPECT_EQ(group.rank(), env.rank);
  EXPECT_EQ(group.device(), torch::Device(torch::kCPU));
  check_gradient_sums(group);  // default 25 MB buckets: one per dtype
  group.set_bucket_bytes(4096);
  check_gradient_sums(group);
}

void sum_and_broadcast_scenario(const ParallelEnvironment& env) {
  DataParallel group(env, "gloo", seconds(60));
  std::vector<double> values = {env.rank + 0.25, 1e10 * (env.rank + 1), -1.0 * env.rank};
  group.all_reduce_sum(values);
  double expected_first = 0, expected_second = 0, expected_third = 0;
  for (int rank = 0; rank < env.world_size; ++rank) {
    expected_first += rank + 0.25;
    expected_second += 1e10 * (rank + 1);
    expected_third += -1.0 * rank;
  }
  EXPECT_EQ(values, std::vector<double>({expected_first, expected_second, expected_third}));

  group.set_bucket_bytes(4096);
  std::vector<torch::Tensor> tensors;
  for (int slot = 0; slot < 4; ++slot)
    tensors.push_back(
        rank_values(env.rank, slot, {30, 50}, slot % 2 ? torch::kInt64 : torch::kFloat32));
  group.broadcast(tensors);
  for (int slot = 0; slot < 4; ++slot)
    EXPECT_TRUE(
        torch::equal(tensors[slot], rank_values(0, slot, {30, 50}, tensors[slot].scalar_type())));
  group.barrier();
}

// NCCL, one rank per visible GPU: gradient sums in both bucket sizes, a sum and a broadcast.
void nccl_scenario(const ParallelEnvironment& env) {
  DataParallel group(env, "nccl", seconds(60));
  EXPECT_EQ(group.device(), torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.rank)));
  check_gradient_sums(group);
  group.set_bucket_bytes(4096);
  check_gradient_sums(group);
  std::vector<double> values = {env.rank + 0.25};
  group.all_reduce_sum(values);
  EXPECT_EQ(values[0], env.world_size * (env.world_size - 1) / 2.0 + 0.25 * env.world_size);
  std::vector<torch::Tensor> tensors = {
      rank_values(env.rank, 0, {30, 50}, torch::kFloat32).to(group.device()),
      rank_values(env.rank, 1, {70}, torch::kInt64).to(group.device())};
  group.broadcast(tensors);
  EXPECT_TRUE(torch::equal(tensors[0].cpu(), rank_values(0, 0, {30, 50}, torch::kFloat32)));
  EXPECT_TRUE(torch::equal(tensors[1].cpu(), rank_values(0, 1, {70}, torch::kInt64)));
  group.barrier();
}

// Rank 1 leaves (`exits`) or stops answering; rank 0's next collective must throw in time.
void lost_peer_scenario(const ParallelEnvironment& env, bool exits) {
  const auto timeout = seconds(3);
  DataParallel group(env, "gloo", timeout);
  group.barrier();
  if (env.rank == 1) {
    if (!exits) std::this_thread::sleep_for(2 * timeout);
    std::_Exit(0);
  }
  std::this_thread::sleep_for(milliseconds(200));
  std::vector<double> values = {1.0};
  const auto start = Clock::now();
  try {
    group.all_reduce_sum(values);
    ADD_FAILURE() << "all_reduce_sum returned without its peer";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("data parallel"), std::string::npos) << error.what();
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
  }
  EXPECT_LT(seconds_since(start), 6.0);  // the 3 s time-out plus slack for a busy machine
}

TEST(DataParallelRank, Run) {
  const char* scenario = std::getenv(kScenarioVariable);
  if (!scenario) GTEST_SKIP() << "one rank of the DataParallel tests; they start it";
  torch::set_num_threads(1);
  const std::string name = scenario;
  const auto env = ParallelEnvironment::from_environment();
  if (name == "gradients") {
    gradients_scenario(env);
  } else if (name == "sum_broadcast") {
    sum_and_broadcast_scenario(env);
  } else if (name == "nccl") {
    nccl_scenario(env);
  } else if (name == "peer_exits" || name == "peer_silent") {
    lost_peer_scenario(env, name == "peer_exits");
  } else if (name == "rank1_fails") {
    if (env.rank == 1) std::_Exit(7);
    std::this_thread::sleep_for(seconds(60));
  } else if (name == "rank1_killed") {
    if (env.rank == 1) raise(SIGKILL);
    std::this_thread::sleep_for(seconds(60));
  } else {
    FAIL() << "unknown scenario " << name;
  }
}

TEST(DataParallel, AllReduceGradientsSumsMixedBuckets) { EXPECT_EQ(run_ranks("gradients"), 0); }

TEST(DataParallel, AllReduceSumBroadcastBarrier) {
  EXPECT_EQ(run_ranks("sum_broadcast"), 0);
  EXPECT_EQ(run_ranks("sum_broadcast", 3), 0);
}

// On a machine with GPUs (skipped without; scripts/gpu-check.sh runs it).
TEST(DataParallel, NcclSumsAndBroadcastsWithOneRankPerGpu) {
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus == 0) GTEST_SKIP() << "no CUDA device";
  EXPECT_EQ(run_ranks("nccl", gpus), 0);
}

TEST(DataParallel, PeerThatExitsEndsCollectiveWithError) { EXPECT_EQ(run_ranks("peer_exits"), 0); }

TEST(DataParallel, SilentPeerTimesOut) { EXPECT_EQ(run_ranks("peer_silent"), 0); }

// torchrun from the test venv starts the ranks; its agent serves the store they join.
TEST(DataParallel, RunsUnderTorchrun) {
  const std::string python = test::venv_python();
  if (python.empty()) GTEST_SKIP() << "no Python venv with torch: torchrun test skipped";
  const std::string dir = test::scratch_dir();
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  setenv(kScenarioVariable, "sum_broadcast", 1);
  const auto result = test::run_command(
      test::quote(python) + " -m torch.distributed.run --standalone --nproc-per-node 2 " +
          "--no-python " + test::quote(self) +
          " --gtest_filter=DataParallelRank.Run --gtest_brief=1",
      dir);
  unsetenv(kScenarioVariable);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST(DataParallel, RunLocalWorkersReturnsFirstFailureAndStopsTheRest) {
  const auto start = Clock::now();
  EXPECT_EQ(run_ranks("rank1_fails"), 7);
  EXPECT_EQ(run_ranks("rank1_killed"), 128 + SIGKILL);
  EXPECT_LT(seconds_since(start), 30.0);  // rank 0 sleeps 60 s unless stopped
}

TEST(DataParallel, RunLocalWorkersRejectsBadArguments) {
  EXPECT_THROW(run_local_workers(0, {"gavamoe"}), Error);
  EXPECT_THROW(run_local_workers(2, {}), Error);
}

// A port no one listens on: bound once by the kernel's choice, then released.
int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(DataParallel, RankWaitingForPeersSaysForHowManyUntilTheTimeOut) {
  ParallelEnvironment env;
  env.world_size = 2;
  env.master_port = unused_port();
  testing::internal::CaptureStderr();
  const auto start = Clock::now();
  try {
    DataParallel group(env, "gloo", seconds(2));
    ADD_FAILURE() << "joined without its peer";
  } catch (const Error& error) {
    EXPECT_NE(
        std::string(error.what()).find("1 of 2 ranks did not join within the time-out of 2 s"),
        std::string::npos)
        << error.what();
  }
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("data parallel: rank 0 waiting for 1 of 2 ranks"), std::string::npos) << log;
  EXPECT_LT(seconds_since(start), 6.0);
}

TEST(DataParallel, UnknownOrMissingBackendIsAnError) {
  ParallelEnvironment env;
  try {
    DataParallel group(env, "mpi");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("'mpi'"), std::string::npos) << error.what();
  }
  if (torch::cuda::is_available()) return;
  try {
    DataParallel group(env, "nccl");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("nccl"), std::string::npos) << error.what();
  }
}

// Sets the rendezvous variables for one test and restores them afterwards.
class Environment {
 public:
  static constexpr const char* kNames[] = {"WORLD_SIZE",  "RANK",
                                           "LOCAL_RANK",  "MASTER_ADDR",
                                           "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE"};
  Environment() {
    for (const char* name : kNames) {
      if (const char* value = std::getenv(name)) saved_[name] = value;
      unsetenv(name);
    }
  }
  ~Environment() {
    for (const char* name : kNames) {
      const auto found = saved_.find(name);
      if (found == saved_.end())
        unsetenv(name);
      else
        setenv(name, found->second.c_str(), 1);
    }
  }
  void set(const std::map<std::string, std::string>& values) {
    for (const auto& [name, value] : values) setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::map<std::string, std::string> saved_;
};

// The message of from_environment's error, or nullopt when it succeeds.
std::optional<std::string> environment_error() {
  try {
    ParallelEnvironment::from_environment();
    return std::nullopt;
  } catch (const Error& error) {
    return std::string(error.what());
  }
}

TEST(ParallelEnvironment, WithoutWorldSizeIsOneProcess) {
  Environment environment;
  auto env = ParallelEnvironment::from_environment();
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
  environment.set({{"WORLD_SIZE", "1"}});
  EXPECT_EQ(ParallelEnvironment::from_environment().world_size, 1);
}

TEST(ParallelEnvironment, ReadsTorchrunVariables) {
  Environment environment;
  environment.set({{"WORLD_SIZE", "4"},
                   {"RANK", "3"},
                   {"LOCAL_RANK", "1"},
                   {"MASTER_ADDR", "node7"},
                   {"MASTER_PORT", "29501"}});
  const auto env = ParallelEnvironment::from_environment();
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node7");
  EXPECT_EQ(env.master_port, 29501);
  EXPECT_FALSE(env.agent_store);
  environment.set({{"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  EXPECT_TRUE(ParallelEnvironment::from_environment().agent_store);
}

TEST(ParallelEnvironment, ErrorsNameTheBadVariable) {
  const std::map<std::string, std::string> good = {{"WORLD_SIZE", "2"},
                                                   {"RANK", "1"},
                                                   {"LOCAL_RANK", "1"},
                                                   {"MASTER_ADDR", "127.0.0.1"},
                                                   {"MASTER_PORT", "29500"}};
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"WORLD_SIZE", "two"}, {"WORLD_SIZE", "0"},  {"RANK", "2"},
      {"RANK", "-1"},        {"LOCAL_RANK", "1x"}, {"MASTER_PORT", "70000"},
      {"MASTER_PORT", ""},   {"MASTER_ADDR", ""},  {"RANK", ""}};
  for (const auto& [name, value] : bad) {
    Environment environment;
    environment.set(good);
    if (value.empty())
      unsetenv(name.c_str());
    else
      setenv(name.c_str(), value.c_str(), 1);
    const auto message = environment_error();
    ASSERT_TRUE(message.has_value()) << name << "=" << value;
    EXPECT_EQ(message->rfind(name, 0), 0u) << *message;
  }
}

}  // namespace
}  // namespace gavamoe
