// KvCache: keys and values of past positions for every layer, pre-allocated for a batch.
//
// Shapes: B batch, KV key/value heads, S slots (capacity), D head dim. All rows of a batch
// share the slot index (prompts are left-padded); `valid` marks the slots that hold a real
// token, so padding is never attended to. Positions for the rotary embedding are per sequence
// and passed separately to Llama::hidden.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "gavamoe/model/llama_config.hpp"

namespace gavamoe {

class KvCache {
 public:
  KvCache(const LlamaConfig& config, int64_t batch, int64_t capacity, torch::TensorOptions options);

  int64_t batch() const { return valid_.size(0); }
  int64_t capacity() const { return valid_.size(1); }
  int64_t length() const { return length_; }  // slots filled so far

  // Reserves the next `count` slots with their validity [B, count]; returns the first slot.
  int64_t append(const torch::Tensor& valid);
  // Valid flags of the filled slots [B, length].
  torch::Tensor valid() const { return valid_.slice(1, 0, length_); }
  torch::Tensor& keys(size_t layer) { return keys_[layer]; }      // [B, KV, S, D]
  torch::Tensor& values(size_t layer) { return values_[layer]; }  // [B, KV, S, D]
  // Keeps rows `rows` (int64 [B']) in that order, e.g. the surviving beams of beam search.
  void select_rows(const torch::Tensor& rows);

 private:
  std::vector<torch::Tensor> keys_, values_;
  torch::Tensor valid_;  // [B, S] bool
  int64_t length_ = 0;
};

}  // namespace gavamoe
