// LoRA adapter around a frozen Linear (see the header for the formula and conventions).
#include "gavamoe/model/lora.hpp"

#include <cmath>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

namespace nn = torch::nn;

LoraLinearImpl::LoraLinearImpl(nn::Linear base, const LoraOptions& options) {
  if (options.rank <= 0) throw Error("lora: rank must be positive");
  if (options.dropout < 0 || options.dropout > 1) throw Error("lora: dropout must be in [0, 1]");
  const auto& weight = base->weight;
  const int64_t out_features = weight.size(0), in_features = weight.size(1);
  scaling = options.alpha / options.rank;
  base_layer = register_module("base_layer", std::move(base));
  for (auto& p : base_layer->parameters()) p.requires_grad_(false);
  lora_A = register_module("lora_A",
                           nn::Linear(nn::LinearOptions(in_features, options.rank).bias(false)));
  lora_B = register_module("lora_B",
                           nn::Linear(nn::LinearOptions(options.rank, out_features).bias(false)));
  dropout = register_module("dropout", nn::Dropout(options.dropout));
  torch::NoGradGuard no_grad;
  nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5.0));
  nn::init::zeros_(lora_B->weight);
  lora_A->to(weight.device(), weight.scalar_type());
  lora_B->to(weight.device(), weight.scalar_type());
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  return base_layer(x) + lora_B(lora_A(dropout(x))) * scaling;
}

torch::Tensor LoraLinearImpl::merge() const {
  return base_layer->weight + torch::matmul(lora_B->weight, lora_A->weight) * scaling;
}

}  // namespace gavamoe
