// Counter-based dropout masks (fast_dropout.hpp).
#include "gavamoe/model/fast_dropout.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/seed_mix.hpp"

namespace gavamoe {

torch::Tensor fast_dropout_mask(const torch::Tensor& like, double p, uint64_t seed) {
  const int64_t n = like.numel();
  auto mask = torch::empty({n}, torch::kFloat);
  float* out = mask.data_ptr<float>();
  const auto threshold = static_cast<uint32_t>(std::lround(p * 65536.0));
  const auto scale = static_cast<float>(1.0 / (1.0 - p));
  const int64_t words = (n + 3) / 4;
  at::parallel_for(0, words, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) {
      uint64_t bits = seed_mix(seed, static_cast<uint64_t>(w));
      for (int64_t k = 4 * w; k < std::min(n, 4 * w + 4); ++k, bits >>= 16)
        out[k] = (bits & 0xFFFF) >= threshold ? scale : 0.0f;
    }
  });
  return mask.view(like.sizes()).to(like.device(), like.scalar_type());
}

FastDropoutImpl::FastDropoutImpl(double p) : p(p) {
  if (p < 0 || p >= 1) throw Error("dropout probability must be in [0, 1)");
}

torch::Tensor FastDropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p == 0) return x;
  if (!x.device().is_cpu()) return torch::dropout(x, p, true);
  const auto seed = static_cast<uint64_t>(
      torch::randint(std::numeric_limits<int64_t>::max(), {1}, torch::kLong).item<int64_t>());
  return x * fast_dropout_mask(x, p, seed);
}

}  // namespace gavamoe
