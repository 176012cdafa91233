// Device names of the training configs (device.hpp).
#include "gavamoe/train/device.hpp"

#include <torch/cuda.h>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

torch::Device resolve_device(const std::string& name, const std::string& key, int cuda_index) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name == "auto") {
    if (torch::cuda::is_available())
      return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(cuda_index));
    if (name == "cuda") throw Error(key + "=cuda but no CUDA device is available");
    return torch::kCPU;
  }
  throw Error(key + " must be auto, cpu or cuda, got \"" + name + "\"");
}

}  // namespace gavamoe
