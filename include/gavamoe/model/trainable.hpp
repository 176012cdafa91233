// The trainable parameters of a module (those that require gradients) by name, and loading them
// back: what checkpoints and the trained-weights files of the explainer and the surrogate hold.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace gavamoe {

// Parameters that require gradients, by name, in name order (shared storage, not copies).
std::map<std::string, torch::Tensor> trainable_parameters(torch::nn::Module& module);
int64_t trainable_count(torch::nn::Module& module);
// Copies `tensors` (written from trainable_parameters) into the module; a name that is not a
// trainable parameter, a missing name or a wrong shape is an error naming `source`.
void load_trainable_parameters(torch::nn::Module& module,
                               const std::map<std::string, torch::Tensor>& tensors,
                               const std::string& source);

}  // namespace gavamoe
