// The device and thread count of a LibTorch benchmark from its arguments "[cpu|cuda] [threads]"
// (threads default: all cores); exits with code 2 when CUDA is asked for and absent.
#pragma once

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace gavamoe::bench {

struct BenchDevice {
  torch::Device device = torch::kCPU;
  std::string where;  // "cpu, 2 threads" or "cuda", for the rows
};

// Reads argv[first] (device) and argv[first + 1] (threads); seeds LibTorch with 1.
inline BenchDevice bench_device(int argc, char** argv, int first, const char* program) {
  const std::string name = argc > first ? argv[first] : "cpu";
  const int threads = argc > first + 1 ? std::atoi(argv[first + 1])
                                       : static_cast<int>(std::thread::hardware_concurrency());
  if (name == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "%s: no CUDA device\n", program);
    std::exit(2);
  }
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  BenchDevice result;
  result.device = name == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  result.where = name == "cuda" ? "cuda" : "cpu, " + std::to_string(threads) + " threads";
  return result;
}

}  // namespace gavamoe::bench
