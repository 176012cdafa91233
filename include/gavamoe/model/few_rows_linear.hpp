// Linear layers on a few rows: the shape of KV-cached decoding, where each step multiplies a
// handful of hidden states (one per sequence) by every weight matrix of the model.
//
// Shapes: M rows (M <= kFewRows), K input features, N output features; y [.., N] = x [.., K] W^T
// with W [N, K] as torch::nn::Linear stores it. On such shapes a general GEMM spends its time
// packing W (a copy of the whole matrix per call) or runs a matrix-vector kernel that leaves
// memory bandwidth unused. This kernel reads W once, straight from its rows, and keeps a tile of
// W rows x M rows of dot products in registers (AVX2 + FMA, chosen at run time; every other CPU,
// device, dtype or shape goes to torch::linear). Per output element the sum runs in 8 float
// lanes and then across them, so results differ from MKL's by summation order only (float32
// rounding, about 1e-6 relative).
#pragma once

#include <torch/torch.h>

namespace gavamoe {

constexpr int64_t kFewRows = 16;

// Whether few_rows_linear runs its own kernel for x, weight and bias (may be undefined): float32
// on the CPU, an AVX2 + FMA processor, a contiguous weight, at most kFewRows rows of x, no
// autocast and no gradient to record.
bool few_rows_kernel_applies(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias = {});

// torch::linear(x, weight, bias) (bias may be undefined), through the few-rows kernel where it
// applies.
torch::Tensor few_rows_linear(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias = {});

// The same for a Linear module (its weight and bias).
torch::Tensor few_rows_linear(const torch::nn::Linear& layer, const torch::Tensor& x);

}  // namespace gavamoe
