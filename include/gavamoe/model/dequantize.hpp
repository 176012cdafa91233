// Dequantisation of ggml tensor data (GGUF block formats) to float32.
//
// Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (blocks of 32) and Q4_K, Q5_K, Q6_K
// (super-blocks of 256), with the formulas of ggml's dequantize_row_* in the operation order of
// gguf-py's quants.py, so results equal both bit for bit (scales d, m, dmin are IEEE halves).
// Element i of the output is element i of the row-major data (ne0 fastest).
#pragma once

#include <cstdint>
#include <string>

namespace gavamoe {

bool can_dequantize(uint32_t ggml_type);
// "F32, F16, BF16, Q4_0, ..." for messages.
std::string dequantizable_type_names();

// Converts `count` elements of ggml type `ggml_type` stored at `data` (count / block size whole
// blocks) to float32 at `out`; runs in parallel on large inputs. An unsupported type is a
// gavamoe::Error naming it ("IQ2_XXS (type 16)").
void dequantize(uint32_t ggml_type, const uint8_t* data, int64_t count, float* out);

// IEEE half (bits) to float, exactly.
float half_to_float(uint16_t bits);

}  // namespace gavamoe
