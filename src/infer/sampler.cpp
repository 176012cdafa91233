// Sampler: repetition penalty, temperature, top-k, top-p, greedy or seeded sampling.
#include "gavamoe/infer/sampler.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

namespace gavamoe {

Sampler::Sampler(SamplingOptions options, uint64_t seed)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

torch::Tensor Sampler::process(torch::Tensor logits, const torch::Tensor& history) const {
  logits = logits.to(torch::kFloat32).clone();
  constexpr float kMinus = -std::numeric_limits<float>::infinity();
  if (options_.repetition_penalty != 1.0 && history.defined() && history.numel() > 0) {
    // Ids outside [0, V) (padding, placeholder ids) go to an extra column that is dropped.
    const int64_t v = logits.size(1);
    const torch::Tensor ids = history.masked_fill((history < 0) | (history >= v), v);
    const torch::Tensor seen =
        torch::zeros({logits.size(0), v + 1}, ids.options().dtype(torch::kBool))
            .scatter_(1, ids, true)
            .slice(1, 0, v);
    const torch::Tensor penalised = torch::where(logits < 0, logits * options_.repetition_penalty,
                                                 logits / options_.repetition_penalty);
    logits = torch::where(seen, penalised, logits);
  }
  if (!options_.sample) return logits;
  logits = logits / options_.temperature;
  if (options_.top_k > 0 && options_.top_k < logits.size(1)) {
    const torch::Tensor kth = std::get<0>(logits.topk(options_.top_k, 1)).slice(1, -1);
    logits = logits.masked_fill(logits < kth, kMinus);
  }
  if (options_.top_p < 1.0) {
    // Keep the smallest set of most likely tokens whose probability reaches top_p.
    const auto [sorted, order] = logits.sort(1, /*descending=*/true);
    const torch::Tensor before = sorted.softmax(1).cumsum(1) - sorted.softmax(1);
    const torch::Tensor drop_sorted = before >= options_.top_p;
    logits =
        logits.masked_fill(torch::zeros_like(drop_sorted).scatter(1, order, drop_sorted), kMinus);
  }
  return logits;
}

torch::Tensor Sampler::next(torch::Tensor logits, const torch::Tensor& history) {
  const torch::Tensor processed = process(std::move(logits), history).cpu();
  if (!options_.sample) return processed.argmax(1);
  return processed.softmax(1).multinomial(1, false, generator_).squeeze(1);
}

}  // namespace gavamoe
