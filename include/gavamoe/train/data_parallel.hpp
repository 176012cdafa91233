// DataParallel: data-parallel training over a c10d process group (gloo on the CPU, NCCL on CUDA
// when LibTorch has it; GAVAMOE_WITH_NCCL), rendezvous through a TCPStore.
//
// Environment (torchrun's): RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. Without
// WORLD_SIZE (or with 1) a run is single-process and no group is made.
// Gradients are summed (not averaged) in flat buckets; the trainer normalises by the global
// token count, so that N ranks give the same step as one process with the same global batch.
// Every collective has a time-out: a rank that dies ends the others with an Error, never a hang.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace gavamoe {

struct ParallelEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // torchrun's agent already serves the store at MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE=True),
  // so rank 0 joins it as a client instead of starting one.
  bool agent_store = false;
  // From the environment variables; errors name the variable.
  static ParallelEnvironment from_environment();
};

class DataParallel {
 public:
  // Joins the group (blocks until every rank arrives or `timeout`). backend "gloo" | "nccl".
  DataParallel(const ParallelEnvironment& env, const std::string& backend,
               std::chrono::milliseconds timeout = std::chrono::minutes(5));
  ~DataParallel();

  int rank() const;
  int world_size() const;
  bool is_main() const { return rank() == 0; }
  // Where this rank's tensors live: the CPU for gloo, cuda:LOCAL_RANK (or the one visible GPU)
  // for NCCL, which the constructor also makes the current CUDA device.
  torch::Device device() const;
  // Bucket size of all_reduce_gradients and broadcast (default 25 MB).
  void set_bucket_bytes(int64_t bytes);

  // Sums the gradients of `parameters` over the ranks in place (buckets of ~25 MB). Parameters
  // that do not require grad are skipped; one without a gradient on this rank joins with zeros.
  void all_reduce_gradients(const std::vector<torch::Tensor>& parameters);
  // Sums `values` (float64, any small count) over the ranks in place.
  void all_reduce_sum(std::vector<double>& values);
  // Copies rank 0's tensors into every rank's (initial weights).
  void broadcast(const std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Rank `rank`'s contiguous share of micro-batch `micro` of `order` (the positions from
// micro x batch_size, batch_size of them or fewer at the end): [size r / W, size (r + 1) / W)
// of its size positions, so the shares of the W ranks cover it once, in order.
std::vector<int64_t> micro_batch_share(const std::vector<int64_t>& order, int64_t micro,
                                       int64_t batch_size, int rank, int world_size);

// `gavamoe ... --nproc N`: starts N copies of this program (argv: the whole command line, argv[0]
// first, without --nproc) with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1 and a free
// MASTER_PORT set, in a process group of their own; waits for all; when one fails, stops the
// others (SIGTERM, then SIGKILL after 10 s). A SIGINT or SIGTERM sent to this process is passed
// on to every worker (the training loop stops them at a checkpoint), and once they have exited
// it throws Interrupted (with no message: rank 0 has said where it stopped). Returns the exit
// code (first failure, 128 + signal for a killed rank, or 0).
int run_local_workers(int nproc, const std::vector<std::string>& argv);

}  // namespace gavamoe
