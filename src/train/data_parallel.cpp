// DataParallel over c10d (data_parallel.hpp): TCPStore rendezvous, gloo or NCCL backend, bucketed
// gradient sums, and the --nproc launcher that starts one process per rank.
#include "gavamoe/train/data_parallel.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/interrupt.hpp"
#include "gavamoe/core/log.hpp"

#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

extern char** environ;

namespace gavamoe {
namespace {

using WorkPtr = c10::intrusive_ptr<c10d::Work>;
using Collective = std::function<WorkPtr(std::vector<at::Tensor>&)>;

// The first line of an exception's message: c10::Error carries a backtrace after it.
std::string first_line(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::string message = c10_error ? c10_error->what_without_backtrace() : error.what();
  const size_t end = message.find('\n');
  return end == std::string::npos ? message : message.substr(0, end);
}

// Runs `body`, turning any c10d failure (time-out, a rank gone) into one gavamoe::Error.
template <typename Body>
void guarded(const std::string& what, std::chrono::milliseconds timeout, Body body) {
  try {
    body();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    const std::string seconds = std::to_string(timeout.count() / 1000.0);
    throw Error("data parallel " + what + " failed (time-out " +
                seconds.substr(0, seconds.find('.') + 2) + " s): " + first_line(error));
  }
}

// How often a rank waiting for its peers says so (sooner under a short time-out).
constexpr std::chrono::milliseconds kWaitLogInterval = std::chrono::seconds(5);

// Every rank counts itself in, then waits until all have. While some are missing it logs how
// many every few seconds, so a rank that never started shows as a count rather than as a
// silent hang until the time-out.
void wait_for_ranks(c10d::Store& store, const ParallelEnvironment& env,
                    std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  constexpr const char* kArrived = "arrived";
  store.add(kArrived, 1);
  const auto start = Clock::now();
  const auto interval = std::min(kWaitLogInterval, timeout / 2);
  auto next_log = start + interval;
  while (true) {
    const int64_t missing = env.world_size - store.add(kArrived, 0);
    if (missing <= 0) return;
    const auto now = Clock::now();
    const double waited = std::chrono::duration<double>(now - start).count();
    const double limit = static_cast<double>(timeout.count()) / 1000.0;
    if (now - start >= timeout)
      throw Error(log::format(
          "data parallel: %lld of %d ranks did not join within the time-out of %.0f s (rank %d "
          "waited for them at %s:%d)",
          static_cast<long long>(missing), env.world_size, limit, env.rank, env.master_addr.c_str(),
          env.master_port));
    if (now >= next_log) {
      log::warn(
          "data parallel: rank %d waiting for %lld of %d ranks (%.0f s of the %.0f s time-out)",
          env.rank, static_cast<long long>(missing), env.world_size, waited, limit);
      next_log = now + interval;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

const char* env_value(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

// A whole decimal integer in [low, high]; errors name the variable.
int env_int(const char* name, int low, int high) {
  const char* text = env_value(name);
  if (!text) throw Error(std::string(name) + " is not set (needed when WORLD_SIZE > 1)");
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < low || value > high)
    throw Error(std::string(name) + "='" + text + "' is not an integer in [" + std::to_string(low) +
                ", " + std::to_string(high) + "]");
  return static_cast<int>(value);
}

// gloo binds one interface: GLOO_SOCKET_IFNAME when given (as torch does), loopback for a
// single-machine run, otherwise the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* interface = env_value("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (master_addr == "localhost" || master_addr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// The GPU of a rank: a launcher may show each process one GPU (cuda:0) or all of them
// (cuda:LOCAL_RANK).
torch::Device nccl_device(int local_rank) {
#ifdef USE_C10D_NCCL
  const int visible = static_cast<int>(torch::cuda::device_count());
  if (visible == 0)
    throw Error("data parallel backend 'nccl' needs a CUDA device; none is visible");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % visible));
#else
  throw Error("data parallel backend 'nccl' is not built in (this build has no CUDA)");
#endif
}

// Groups tensors by dtype and device, in order, into buckets of at most `bucket_bytes` (a larger
// tensor gets a bucket of its own). Every rank passes the same list, so buckets match.
std::vector<std::vector<torch::Tensor>> make_buckets(const std::vector<torch::Tensor>& tensors,
                                                     int64_t bucket_bytes) {
  std::vector<std::vector<torch::Tensor>> buckets;
  std::map<std::string, size_t> open;  // dtype/device -> index of its bucket being filled
  std::vector<int64_t> filled;
  for (const auto& tensor : tensors) {
    if (tensor.is_sparse()) throw Error("data parallel: sparse tensors are not supported");
    const std::string key =
        std::string(c10::toString(tensor.scalar_type())) + "@" + tensor.device().str();
    const int64_t bytes = tensor.numel() * tensor.element_size();
    auto found = open.find(key);
    if (found == open.end() || filled[found->second] + bytes > bucket_bytes) {
      buckets.emplace_back();
      filled.push_back(0);
      found = open.insert_or_assign(key, buckets.size() - 1).first;
    }
    buckets[found->second].push_back(tensor);
    filled[found->second] += bytes;
  }
  return buckets;
}

}  // namespace

ParallelEnvironment ParallelEnvironment::from_environment() {
  ParallelEnvironment env;
  if (!env_value("WORLD_SIZE")) return env;
  env.world_size = env_int("WORLD_SIZE", 1, 1 << 20);
  if (env.world_size == 1) return env;
  env.rank = env_int("RANK", 0, env.world_size - 1);
  env.local_rank = env_int("LOCAL_RANK", 0, env.world_size - 1);
  const char* master_addr = env_value("MASTER_ADDR");
  if (!master_addr) throw Error("MASTER_ADDR is not set (needed when WORLD_SIZE > 1)");
  env.master_addr = master_addr;
  env.master_port = env_int("MASTER_PORT", 1, 65535);
  const char* agent_store = env_value("TORCHELASTIC_USE_AGENT_STORE");
  env.agent_store = agent_store && std::string(agent_store) == "True";
  return env;
}

struct DataParallel::State {
  ParallelEnvironment env;
  std::chrono::milliseconds timeout;
  torch::Device device = torch::kCPU;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  int64_t bucket_bytes = 25 << 20;

  void wait(const WorkPtr& work) { work->wait(timeout); }

  // Flattens each bucket, starts `collective` on all of them, then waits and copies back.
  void run_bucketed(const std::vector<torch::Tensor>& tensors, const Collective& collective) {
    torch::NoGradGuard no_grad;
    struct Pending {
      std::vector<torch::Tensor> tensors;
      torch::Tensor flat;
      WorkPtr work;
    };
    std::vector<Pending> pending;
    for (auto& bucket : make_buckets(tensors, bucket_bytes)) {
      std::vector<torch::Tensor> pieces;
      for (const auto& tensor : bucket) pieces.push_back(tensor.reshape(-1));
      std::vector<at::Tensor> flat = {torch::cat(pieces)};
      WorkPtr work = collective(flat);
      pending.push_back({std::move(bucket), flat[0], work});
    }
    for (auto& bucket : pending) {
      wait(bucket.work);
      int64_t offset = 0;
      for (auto& tensor : bucket.tensors) {
        tensor.copy_(bucket.flat.narrow(0, offset, tensor.numel()).view_as(tensor));
        offset += tensor.numel();
      }
    }
  }
};

DataParallel::DataParallel(const ParallelEnvironment& env, const std::string& backend,
                           std::chrono::milliseconds timeout)
    : state_(std::make_unique<State>()) {
  state_->env = env;
  state_->timeout = timeout;
  if (backend != "gloo" && backend != "nccl")
    throw Error("data parallel backend '" + backend + "' is unknown (gloo or nccl)");
  if (backend == "nccl") state_->device = nccl_device(env.local_rank);
  const std::string rendezvous =
      "rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port);
  guarded(rendezvous, timeout, [&] {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.master_port);
    options.isServer = env.rank == 0 && !env.agent_store;
    options.numWorkers = env.world_size;
    options.waitWorkers = false;  // wait_for_ranks waits, and says for whom
    options.timeout = timeout;
    // Our keys under a prefix of their own: a torchrun agent's store holds its own keys.
    state_->store = c10::make_intrusive<c10d::PrefixStore>(
        "gavamoe/", c10::make_intrusive<c10d::TCPStore>(env.master_addr, options));
    wait_for_ranks(*state_->store, env, timeout);
    if (backend == "gloo") {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      gloo_options->devices.push_back(gloo_device(env.master_addr));
      state_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(state_->store, env.rank,
                                                                    env.world_size, gloo_options);
      return;
    }
#ifdef USE_C10D_NCCL
    c10::cuda::set_device(state_->device.index());
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    nccl_options->timeout = timeout;
    auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(state_->store, env.rank, env.world_size,
                                                            nccl_options);
    // Connect now, so that a missing rank shows here and not at the first gradient sum.
    nccl->eagerConnectSingleDevice(state_->device);
    state_->backend = nccl;
#endif
  });
}

DataParallel::~DataParallel() {
  // NCCL wants an explicit shutdown (it warns otherwise); after a failure it may throw.
  try {
    if (state_->backend) state_->backend->shutdown();
  } catch (const std::exception&) {
  }
}

int DataParallel::rank() const { return state_->env.rank; }
int DataParallel::world_size() const { return state_->env.world_size; }
torch::Device DataParallel::device() const { return state_->device; }
void DataParallel::set_bucket_bytes(int64_t bytes) { state_->bucket_bytes = bytes; }

void DataParallel::all_reduce_gradients(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> gradients;
  for (const auto& parameter : parameters) {
    if (!parameter.requires_grad()) continue;
    // A parameter unused on this rank (an expert no record was routed to) still joins the
    // sum with zeros: every rank must send the same buckets.
    if (!parameter.grad().defined())
      parameter.mutable_grad() = torch::zeros_like(parameter, torch::MemoryFormat::Contiguous);
    gradients.push_back(parameter.grad());
  }
  guarded("gradient all-reduce", state_->timeout, [&] {
    state_->run_bucketed(
        gradients, [&](std::vector<at::Tensor>& flat) { return state_->backend->allreduce(flat); });
  });
}

void DataParallel::all_reduce_sum(std::vector<double>& values) {
  if (values.empty()) return;
  guarded("all-reduce", state_->timeout, [&] {
    auto host = torch::tensor(values, torch::kFloat64);
    std::vector<at::Tensor> buffer = {host.to(state_->device)};
    state_->wait(state_->backend->allreduce(buffer));
    host = buffer[0].cpu();
    std::copy_n(host.data_ptr<double>(), values.size(), values.begin());
  });
}

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
  guarded("broadcast", state_->timeout, [&] {
    state_->run_bucketed(tensors, [&](std::vector<at::Tensor>& flat) {
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      return state_->backend->broadcast(flat, options);
    });
  });
}

void DataParallel::barrier() {
  guarded("barrier", state_->timeout, [&] {
    c10d::BarrierOptions options;
    if (state_->device.is_cuda()) options.device_ids = {state_->device.index()};
    state_->wait(state_->backend->barrier(options));
  });
}

namespace {

// A TCP port that was free a moment ago (the kernel picks it for a bind to port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw Error(std::string("--nproc: cannot find a free port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

// This process's environment with the rendezvous variables replaced.
std::vector<std::string> worker_environment(int rank, int nproc, int port) {
  const std::map<std::string, std::string> replaced = {
      {"RANK", std::to_string(rank)},       {"WORLD_SIZE", std::to_string(nproc)},
      {"LOCAL_RANK", std::to_string(rank)}, {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
      {"MASTER_ADDR", "127.0.0.1"},         {"MASTER_PORT", std::to_string(port)}};
  std::vector<std::string> entries;
  for (char** entry = environ; *entry; ++entry) {
    const std::string text = *entry;
    if (!replaced.count(text.substr(0, text.find('=')))) entries.push_back(text);
  }
  for (const auto& [name, value] : replaced) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::vector<int64_t> micro_batch_share(const std::vector<int64_t>& order, int64_t micro,
                                       int64_t batch_size, int rank, int world_size) {
  const auto n = static_cast<int64_t>(order.size());
  const int64_t begin = micro * batch_size;
  const int64_t size = std::min(n, begin + batch_size) - begin;
  return {order.begin() + begin + size * rank / world_size,
          order.begin() + begin + size * (rank + 1) / world_size};
}

int run_local_workers(int nproc, const std::vector<std::string>& argv) {
  if (nproc < 1) throw Error("--nproc must be at least 1, got " + std::to_string(nproc));
  if (argv.empty()) throw Error("--nproc: no command line to start");
  const int port = free_port();
  // The workers run in a process group of their own, so a Ctrl-C reaches this launcher only,
  // which passes every SIGINT and SIGTERM on to all of them once.
  const InterruptScope interrupts(InterruptScope::Policy::count_all);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<pid_t> running;
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> args = argv;
    std::vector<std::string> environment = worker_environment(rank, nproc, port);
    pid_t pid = 0;
    const int failed = ::posix_spawn(&pid, "/proc/self/exe", nullptr, &attributes,
                                     c_strings(args).data(), c_strings(environment).data());
    if (failed != 0) {
      posix_spawnattr_destroy(&attributes);
      for (pid_t started : running) ::kill(started, SIGTERM);
      for (pid_t started : running) ::waitpid(started, nullptr, 0);
      throw Error("--nproc: cannot start rank " + std::to_string(rank) + ": " +
                  std::strerror(failed));
    }
    running.push_back(pid);
  }
  posix_spawnattr_destroy(&attributes);
  // Poll our own children only; after the first failure the survivors get SIGTERM (unless they
  // were interrupted, and are stopping at a checkpoint already), then SIGKILL if they are still
  // there after a grace period.
  constexpr auto kPoll = std::chrono::milliseconds(20);
  constexpr auto kGrace = std::chrono::seconds(10);
  int first_failure = 0;
  std::chrono::steady_clock::time_point stop_time;
  bool killed = false;
  int passed_on = 0;
  while (!running.empty()) {
    for (; passed_on < InterruptScope::count(); ++passed_on)
      for (pid_t worker : running) ::kill(worker, InterruptScope::last_signal());
    for (size_t i = 0; i < running.size();) {
      int status = 0;
      const pid_t done = ::waitpid(running[i], &status, WNOHANG);
      if (done == 0 || (done < 0 && errno == EINTR)) {
        ++i;
        continue;
      }
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      const int code = done < 0 ? 1 : exit_code(status);  // < 0: reaped elsewhere, status lost
      if (code != 0 && first_failure == 0) {
        first_failure = code;
        stop_time = std::chrono::steady_clock::now();
        if (passed_on == 0)
          for (pid_t survivor : running) ::kill(survivor, SIGTERM);
      }
    }
    if (first_failure != 0 && !killed && std::chrono::steady_clock::now() - stop_time > kGrace) {
      for (pid_t survivor : running) ::kill(survivor, SIGKILL);
      killed = true;
    }
    if (!running.empty()) std::this_thread::sleep_for(kPoll);
  }
  // The workers have said where they stopped; the launcher exits as they did.
  if (passed_on > 0 && first_failure != 0) throw Interrupted("", InterruptScope::last_signal());
  return first_failure;
}

}  // namespace gavamoe
