// Sampler: picks the next token of every row from its logits. Shapes: B rows, V vocabulary.
//
// Order of operations (as in HF generate): repetition penalty on tokens already in the row,
// then temperature, top-k, top-p, then greedy argmax or a draw from a seeded generator.
#pragma once

#include <torch/torch.h>

#include <string>

namespace gavamoe {

struct SamplingOptions {
  bool sample = false;  // false: greedy
  double temperature = 1.0;
  int64_t top_k = 0;                // 0: off
  double top_p = 1.0;               // 1: off
  double repetition_penalty = 1.0;  // 1: off; > 1 discourages repeats (HF/CTRL rule)
};

class Sampler {
 public:
  Sampler(SamplingOptions options, uint64_t seed);
  // logits [B, V] (any float dtype), history [B, L] int64 of tokens seen (may be undefined;
  // ids outside [0, V), such as padding or placeholders, are ignored). Returns [B] int64.
  torch::Tensor next(torch::Tensor logits, const torch::Tensor& history);
  // The logits after penalty, temperature, top-k and top-p (filtered entries are -inf).
  torch::Tensor process(torch::Tensor logits, const torch::Tensor& history) const;

 private:
  SamplingOptions options_;
  at::Generator generator_;
};

}  // namespace gavamoe
