// The data-parallel side of the training commands (command.hpp): --nproc, the local launcher,
// and a worker's share of the machine and its group.
#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/train/data_parallel.hpp"
#include "gavamoe/train/device.hpp"

namespace gavamoe::cli {
namespace {

// The command line without "--nproc N" / "--nproc=N": what each worker runs.
std::vector<std::string> worker_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> kept;
  for (size_t k = 0; k < argv.size(); ++k) {
    if (argv[k] == "--nproc") {
      ++k;
      continue;
    }
    if (argv[k].rfind("--nproc=", 0) == 0) continue;
    kept.push_back(argv[k]);
  }
  return kept;
}

}  // namespace

void add_nproc_option(CLI::App* command, int& nproc) {
  command->add_option("--nproc", nproc, "Data-parallel worker processes on this machine")
      ->check(integer_at_least(1));
}

bool run_as_launcher(const std::string& command, int nproc, const CommonOptions& common) {
  if (nproc <= 1 || ParallelEnvironment::from_environment().world_size > 1) return false;
  const int code = run_local_workers(nproc, worker_argv(common.argv));
  if (code != 0)
    throw Error(command + " --nproc " + std::to_string(nproc) + ": a worker failed (exit code " +
                std::to_string(code) + ")");
  return true;
}

RunConfig setup_worker_run(const CommonOptions& common) {
  RunConfig config = setup_run(common);
  const ParallelEnvironment env = ParallelEnvironment::from_environment();
  if (env.world_size > 1) {
    if (common.threads == 0)
      at::set_num_threads(
          std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / env.world_size));
    if (env.rank != 0) log::set_level(log::Level::warn);
  }
  return config;
}

std::unique_ptr<DataParallel> join_workers(const std::string& device, const std::string& key) {
  const ParallelEnvironment env = ParallelEnvironment::from_environment();
  if (env.world_size == 1) return nullptr;
  const bool cuda = resolve_device(device, key, env.local_rank).is_cuda();
  return std::make_unique<DataParallel>(env, cuda ? "nccl" : "gloo");
}

bool is_main_worker() { return ParallelEnvironment::from_environment().rank == 0; }

}  // namespace gavamoe::cli
