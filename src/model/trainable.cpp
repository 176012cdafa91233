// Trainable parameters by name (trainable.hpp).
#include "gavamoe/model/trainable.hpp"

#include "gavamoe/core/error.hpp"

namespace gavamoe {

std::map<std::string, torch::Tensor> trainable_parameters(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> trainable;
  for (const auto& item : module.named_parameters())
    if (item.value().requires_grad()) trainable[item.key()] = item.value();
  return trainable;
}

int64_t trainable_count(torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& [name, p] : trainable_parameters(module)) count += p.numel();
  return count;
}

void load_trainable_parameters(torch::nn::Module& module,
                               const std::map<std::string, torch::Tensor>& tensors,
                               const std::string& source) {
  const auto trainable = trainable_parameters(module);
  for (const auto& [name, tensor] : tensors)
    if (!trainable.count(name))
      throw file_error(source, "tensor '" + name + "' is not a trainable parameter of the model");
  torch::NoGradGuard no_grad;
  for (const auto& [name, parameter] : trainable) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw file_error(source, "missing tensor '" + name + "'");
    if (it->second.sizes() != parameter.sizes())
      throw file_error(source, "tensor '" + name + "' has the wrong shape");
    parameter.copy_(it->second);
  }
}

}  // namespace gavamoe
