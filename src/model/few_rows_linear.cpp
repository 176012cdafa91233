// The few-rows linear kernel (few_rows_linear.hpp).
//
// Tiling: a tile is R weight rows x C rows of x, R x C accumulators of 8 lanes each, filled by
// one pass over K: per 8 columns, C loads of x, R loads of W and R x C fused multiply-adds. Tiles
// are (R, C) = (8, 1) for one row of x, (6, 2) for two and (4, 3) otherwise (the last tile of x
// rows takes the 1 or 2 left over), at most 16 vector registers. The R weight rows of a tile
// stay in L1 while every x tile passes over them, so W streams from memory once. Threads split
// the output features in blocks of R rows.
#include "gavamoe/model/few_rows_linear.hpp"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GAVAMOE_FEW_ROWS_KERNEL 1
#endif

namespace gavamoe {
namespace {

#ifdef GAVAMOE_FEW_ROWS_KERNEL

bool cpu_has_avx2_fma() {
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
}

__attribute__((target("avx2,fma"))) inline float lane_sum(__m256 v) {
  const __m128 quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
  return _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)));
}

// y[c, r] = dot(w row r, x row c) for r < R, c < C; rows of w and x are k floats apart, rows
// of y y_stride.
template <int R, int C>
__attribute__((target("avx2,fma"))) void tile(const float* w, const float* x, int64_t k, float* y,
                                              int64_t y_stride) {
  __m256 sums[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) sums[r][c] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    __m256 xs[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) xs[c] = _mm256_loadu_ps(x + c * k + i);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 ws = _mm256_loadu_ps(w + r * k + i);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) sums[r][c] = _mm256_fmadd_ps(ws, xs[c], sums[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      float sum = lane_sum(sums[r][c]);
      for (int64_t j = i; j < k; ++j) sum += w[r * k + j] * x[c * k + j];
      y[c * y_stride + r] = sum;
    }
}

// One tile of R weight rows against every row of x: C rows at a time, then the 1 or 2 left.
template <int R, int C>
__attribute__((target("avx2,fma"))) void weight_rows(const float* w, const float* x, float* y,
                                                     int64_t m, int64_t k, int64_t n) {
  int64_t row = 0;
  for (; row + C <= m; row += C) tile<R, C>(w, x + row * k, k, y + row * n, n);
  if (m - row == 1) tile<R, 1>(w, x + row * k, k, y + row * n, n);
  if (m - row == 2) tile<R, 2>(w, x + row * k, k, y + row * n, n);
}

// Output features [begin, end) of y [M, N] = x [M, K] W^T: tiles of R weight rows, then single
// rows for the rest.
template <int R, int C>
__attribute__((target("avx2,fma"))) void features(const float* w, const float* x, float* y,
                                                  int64_t m, int64_t k, int64_t n, int64_t begin,
                                                  int64_t end) {
  int64_t feature = begin;
  for (; feature + R <= end; feature += R)
    weight_rows<R, C>(w + feature * k, x, y + feature, m, k, n);
  for (; feature < end; ++feature) weight_rows<1, C>(w + feature * k, x, y + feature, m, k, n);
}

// Threads take blocks of R output features, at least ~64k weights per task.
template <int R, int C>
void run(const float* w, const float* x, float* y, int64_t m, int64_t k, int64_t n) {
  const int64_t blocks = (n + R - 1) / R;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / (R * k));
  at::parallel_for(0, blocks, grain, [&](int64_t first, int64_t last) {
    features<R, C>(w, x, y, m, k, n, first * R, std::min(n, last * R));
  });
}

#endif  // GAVAMOE_FEW_ROWS_KERNEL

}  // namespace

bool few_rows_kernel_applies(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias) {
#ifdef GAVAMOE_FEW_ROWS_KERNEL
  if (!cpu_has_avx2_fma()) return false;
  if (!x.device().is_cpu() || !weight.device().is_cpu()) return false;
  if (x.scalar_type() != torch::kFloat32 || weight.scalar_type() != torch::kFloat32) return false;
  if (weight.dim() != 2 || !weight.is_contiguous() || x.dim() < 1 || x.size(-1) != weight.size(1) ||
      x.numel() == 0)
    return false;
  if (x.numel() / x.size(-1) > kFewRows) return false;
  if (at::autocast::is_autocast_enabled(at::kCPU)) return false;
  const bool bias_grad = bias.defined() && bias.requires_grad();
  return !(torch::GradMode::is_enabled() &&
           (x.requires_grad() || weight.requires_grad() || bias_grad));
#else
  (void)x;
  (void)weight;
  (void)bias;
  return false;
#endif
}

torch::Tensor few_rows_linear(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias) {
#ifdef GAVAMOE_FEW_ROWS_KERNEL
  if (few_rows_kernel_applies(x, weight, bias)) {
    const int64_t k = weight.size(1), n = weight.size(0), m = x.numel() / k;
    const torch::Tensor rows = x.reshape({m, k}).contiguous();
    torch::Tensor y = torch::empty({m, n}, x.options());
    const float *w_data = weight.data_ptr<float>(), *x_data = rows.data_ptr<float>();
    float* y_data = y.data_ptr<float>();
    if (m == 1)
      run<8, 1>(w_data, x_data, y_data, m, k, n);
    else if (m == 2)
      run<6, 2>(w_data, x_data, y_data, m, k, n);
    else
      run<4, 3>(w_data, x_data, y_data, m, k, n);
    if (bias.defined()) y.add_(bias);
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = n;
    return y.view(shape);
  }
#endif
  return torch::linear(x, weight, bias);
}

torch::Tensor few_rows_linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return few_rows_linear(x, layer->weight, layer->bias);
}

}  // namespace gavamoe
