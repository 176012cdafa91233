// ggml block formats to float32 (ggml src/ggml-quants.c dequantize_row_*, ggml-common.h block
// layouts). Each product is written in the order gguf-py's quants.py evaluates it (e.g. Q4_K:
// (d * scale) * q - (dmin * min)), in float32, so the results match it bit for bit. The build
// targets baseline x86-64/AArch64 without -ffast-math, so the compiler fuses no multiply-add.
#include "gavamoe/model/dequantize.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/gguf_header.hpp"

namespace gavamoe {
namespace {

constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8,
                   kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kBF16 = 30;
constexpr int kQK = 32;  // elements per block of the 32-element formats (K-quants: 256)

uint16_t u16_at(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
float half_at(const uint8_t* p) { return half_to_float(u16_at(p)); }

// One block of each format: `in` points at the block, `out` at its block-size outputs.
void block_q8_0(const uint8_t* in, float* out) {
  const float d = half_at(in);
  for (int i = 0; i < kQK; ++i) out[i] = static_cast<float>(static_cast<int8_t>(in[2 + i])) * d;
}

void block_q4_0(const uint8_t* in, float* out) {
  const float d = half_at(in);
  const uint8_t* qs = in + 2;
  for (int i = 0; i < kQK / 2; ++i) {
    out[i] = d * static_cast<float>((qs[i] & 0x0F) - 8);
    out[i + kQK / 2] = d * static_cast<float>((qs[i] >> 4) - 8);
  }
}

void block_q4_1(const uint8_t* in, float* out) {
  const float d = half_at(in), m = half_at(in + 2);
  const uint8_t* qs = in + 4;
  for (int i = 0; i < kQK / 2; ++i) {
    out[i] = d * static_cast<float>(qs[i] & 0x0F) + m;
    out[i + kQK / 2] = d * static_cast<float>(qs[i] >> 4) + m;
  }
}

uint32_t u32_at(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// The 5-bit values of a Q5_0/Q5_1 block: low nibbles from qs, fifth bits from the u32 qh.
void five_bit_values(const uint8_t* qh_bytes, const uint8_t* qs, int* x) {
  const uint32_t qh = u32_at(qh_bytes);
  for (int i = 0; i < kQK / 2; ++i) {
    x[i] = (qs[i] & 0x0F) | static_cast<int>(((qh >> i) & 1) << 4);
    x[i + kQK / 2] = (qs[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1) << 4);
  }
}

void block_q5_0(const uint8_t* in, float* out) {
  const float d = half_at(in);
  int x[kQK];
  five_bit_values(in + 2, in + 6, x);
  for (int i = 0; i < kQK; ++i) out[i] = d * static_cast<float>(x[i] - 16);
}

void block_q5_1(const uint8_t* in, float* out) {
  const float d = half_at(in), m = half_at(in + 2);
  int x[kQK];
  five_bit_values(in + 4, in + 8, x);
  for (int i = 0; i < kQK; ++i) out[i] = d * static_cast<float>(x[i]) + m;
}

// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block (get_scale_min_k4).
void scale_min_k4(int j, const uint8_t* s, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q4_K: d | dmin | scales[12] | qs[128]; Q5_K: d | dmin | scales[12] | qh[32] | qs[128].
template <bool kFiveBits>
void block_q45_k(const uint8_t* in, float* out) {
  const float d = half_at(in), dmin = half_at(in + 2);
  const uint8_t* scales = in + 4;
  const uint8_t* qh = in + 16;
  const uint8_t* qs = in + (kFiveBits ? 48 : 16);
  for (int g = 0; g < 4; ++g) {  // 64 elements: sub-blocks 2g (low nibbles), 2g+1 (high)
    for (int half = 0; half < 2; ++half) {
      const int j = 2 * g + half;
      int scale, min;
      scale_min_k4(j, scales, scale, min);
      const float ds = d * static_cast<float>(scale);
      const float dm = dmin * static_cast<float>(min);
      float* y = out + 32 * j;
      for (int l = 0; l < 32; ++l) {
        int q = half == 0 ? (qs[32 * g + l] & 0x0F) : (qs[32 * g + l] >> 4);
        if (kFiveBits) q |= ((qh[l] >> j) & 1) << 4;
        y[l] = ds * static_cast<float>(q) - dm;
      }
    }
  }
}

// Q6_K: ql[128] | qh[64] | int8 scales[16] | d.
void block_q6_k(const uint8_t* in, float* out) {
  const uint8_t* ql = in;
  const uint8_t* qh = in + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(in + 192);
  const float d = half_at(in + 208);
  for (int n = 0; n < 2; ++n) {  // 128 elements each
    const uint8_t* L = ql + 64 * n;
    const uint8_t* H = qh + 32 * n;
    const int8_t* S = scales + 8 * n;
    float* y = out + 128 * n;
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((L[l] & 0x0F) | (((H[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((L[l + 32] & 0x0F) | (((H[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32;
      y[l] = (d * static_cast<float>(S[is])) * static_cast<float>(q1);
      y[l + 32] = (d * static_cast<float>(S[is + 2])) * static_cast<float>(q2);
      y[l + 64] = (d * static_cast<float>(S[is + 4])) * static_cast<float>(q3);
      y[l + 96] = (d * static_cast<float>(S[is + 6])) * static_cast<float>(q4);
    }
  }
}

void element_f16(const uint8_t* in, float* out) { *out = half_at(in); }
void element_bf16(const uint8_t* in, float* out) {
  const uint32_t bits = static_cast<uint32_t>(u16_at(in)) << 16;
  std::memcpy(out, &bits, 4);
}
void element_f32(const uint8_t* in, float* out) { std::memcpy(out, in, 4); }

using BlockFunction = void (*)(const uint8_t*, float*);

BlockFunction block_function(uint32_t type) {
  switch (type) {
    case kF32:
      return element_f32;
    case kF16:
      return element_f16;
    case kBF16:
      return element_bf16;
    case kQ8_0:
      return block_q8_0;
    case kQ4_0:
      return block_q4_0;
    case kQ4_1:
      return block_q4_1;
    case kQ5_0:
      return block_q5_0;
    case kQ5_1:
      return block_q5_1;
    case kQ4_K:
      return block_q45_k<false>;
    case kQ5_K:
      return block_q45_k<true>;
    case kQ6_K:
      return block_q6_k;
    default:
      return nullptr;
  }
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf, NaN (payload kept)
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    exponent = 113;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
  }
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

bool can_dequantize(uint32_t ggml_type) { return block_function(ggml_type) != nullptr; }

std::string dequantizable_type_names() {
  return "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K";
}

void dequantize(uint32_t ggml_type, const uint8_t* data, int64_t count, float* out) {
  const BlockFunction function = block_function(ggml_type);
  const GgmlTypeInfo* info = ggml_type_info(ggml_type);
  if (!function || !info)
    throw Error("tensor type " + ggml_type_label(ggml_type) +
                " cannot be dequantised (supported: " + dequantizable_type_names() + ")");
  if (count % info->block_size != 0)
    throw Error("dequantize: " + std::to_string(count) + " elements are not whole " +
                std::string(info->name) + " blocks");
  const int64_t blocks = count / info->block_size;
  const int64_t block_size = info->block_size, type_size = info->type_size;
  const int64_t grain = std::max<int64_t>(1, 65536 / block_size);
  at::parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) function(data + b * type_size, out + b * block_size);
  });
}

}  // namespace gavamoe
