// LoRA adapter around a frozen Linear (see the header for the formula and conventions).
#include "gavamoe/model/lora.hpp"

#include <cmath>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/few_rows_linear.hpp"

namespace gavamoe {

namespace nn = torch::nn;

LoraLinearImpl::LoraLinearImpl(nn::Linear base, const LoraOptions& options) {
  if (options.rank <= 0) throw Error("lora: rank must be positive");
  if (options.dropout < 0 || options.dropout >= 1) throw Error("lora: dropout must be in [0, 1)");
  const auto& weight = base->weight;
  const int64_t out_features = weight.size(0), in_features = weight.size(1);
  scaling = options.alpha / options.rank;
  base_layer = register_module("base_layer", std::move(base));
  for (auto& p : base_layer->parameters()) p.requires_grad_(false);
  lora_A = register_module("lora_A",
                           nn::Linear(nn::LinearOptions(in_features, options.rank).bias(false)));
  lora_B = register_module("lora_B",
                           nn::Linear(nn::LinearOptions(options.rank, out_features).bias(false)));
  dropout = register_module("dropout", FastDropout(options.dropout));
  torch::NoGradGuard no_grad;
  nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5.0));
  nn::init::zeros_(lora_B->weight);
  lora_A->to(weight.device(), weight.scalar_type());
  lora_B->to(weight.device(), weight.scalar_type());
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  const auto adapter_dtype = lora_A->weight.scalar_type();
  if (x.scalar_type() == adapter_dtype)
    return few_rows_linear(base_layer, x) + lora_B(lora_A(dropout(x))) * scaling;
  // A base in another dtype (a bfloat16 base with float32 adapters): the adapter path runs in
  // its own dtype and its output is added in the base's.
  const torch::Tensor delta = lora_B(lora_A(dropout(x.to(adapter_dtype)))) * scaling;
  return few_rows_linear(base_layer, x) + delta.to(x.scalar_type());
}

torch::Tensor LoraLinearImpl::merge() const {
  // In the wider of the two dtypes: a float32 adapter on a bfloat16 base keeps its update.
  return base_layer->weight + torch::matmul(lora_B->weight, lora_A->weight) * scaling;
}

}  // namespace gavamoe
