// The training device named by a config key: "auto" (CUDA when available), "cpu" or "cuda".
#pragma once

#include <torch/types.h>

#include <string>

namespace gavamoe {

// `key` names the config key in errors ("vae.device"); `cuda_index` picks the GPU (a
// data-parallel rank's LOCAL_RANK).
torch::Device resolve_device(const std::string& name, const std::string& key, int cuda_index = 0);

}  // namespace gavamoe
