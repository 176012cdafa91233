// KvCache: pre-allocated per-layer key/value buffers and the validity of each slot.
#include "gavamoe/model/kv_cache.hpp"

#include "gavamoe/core/error.hpp"

namespace gavamoe {

KvCache::KvCache(const LlamaConfig& config, int64_t batch, int64_t capacity,
                 torch::TensorOptions options) {
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    keys_.push_back(
        torch::zeros({batch, config.num_key_value_heads, capacity, config.head_dim}, options));
    values_.push_back(torch::zeros_like(keys_.back()));
  }
  valid_ = torch::zeros({batch, capacity}, options.dtype(torch::kBool));
}

int64_t KvCache::append(const torch::Tensor& valid) {
  const int64_t count = valid.size(1);
  if (length_ + count > capacity())
    throw Error("KV cache full: " + std::to_string(length_) + " + " + std::to_string(count) +
                " slots exceed its capacity of " + std::to_string(capacity()));
  valid_.slice(1, length_, length_ + count).copy_(valid);
  const int64_t start = length_;
  length_ += count;
  return start;
}

void KvCache::select_rows(const torch::Tensor& rows) {
  const torch::Tensor index = rows.to(valid_.device());
  for (auto* tensors : {&keys_, &values_})
    for (torch::Tensor& tensor : *tensors) tensor = tensor.index_select(0, index);
  valid_ = valid_.index_select(0, index);
}

}  // namespace gavamoe
