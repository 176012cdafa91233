// SwiGLU feed-forward block of a Llama layer.
#include "gavamoe/model/feed_forward.hpp"

#include "gavamoe/model/few_rows_linear.hpp"

namespace gavamoe {

namespace nn = torch::nn;

MlpImpl::MlpImpl(int64_t hidden_size, int64_t intermediate_size)
    : gate_proj(register_module(
          "gate_proj", nn::Linear(nn::LinearOptions(hidden_size, intermediate_size).bias(false)))),
      up_proj(register_module(
          "up_proj", nn::Linear(nn::LinearOptions(hidden_size, intermediate_size).bias(false)))),
      down_proj(register_module(
          "down_proj", nn::Linear(nn::LinearOptions(intermediate_size, hidden_size).bias(false)))) {
}

torch::Tensor MlpImpl::forward(const torch::Tensor& hidden, const Routing&) {
  return few_rows_linear(down_proj, torch::silu(few_rows_linear(gate_proj, hidden)) *
                                        few_rows_linear(up_proj, hidden));
}

}  // namespace gavamoe
