// Shared scoring and initialisation of the recommenders (recommender.hpp).
#include "gavamoe/rec/recommender.hpp"

#include "gavamoe/core/error.hpp"

namespace gavamoe {

torch::Tensor Recommender::item_vectors() {
  const auto ids = torch::arange(
      n_items(), torch::TensorOptions().dtype(torch::kLong).device(parameters().front().device()));
  return item_vectors(ids);
}

torch::Tensor Recommender::scores(const UserBatch& batch) {
  return user_vectors(batch).matmul(item_vectors().t());
}

void check_rec_size(const std::string& key, int64_t value, int64_t high) {
  if (value < 1 || value > high)
    throw Error("config key '" + key + "' is " + std::to_string(value) + ", outside 1.." +
                std::to_string(high));
}

void init_recommender(torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  module.apply([std](torch::nn::Module& m) {
    if (auto* embedding = m.as<torch::nn::Embedding>()) {
      embedding->weight.normal_(0.0, std);
      if (embedding->options.padding_idx())
        embedding->weight[*embedding->options.padding_idx()].zero_();
    } else if (auto* linear = m.as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, std);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* norm = m.as<torch::nn::LayerNorm>()) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    }
  });
}

}  // namespace gavamoe
