// Safetensors header parsing and validation, without LibTorch (so that it can be fuzzed alone).
//
// File layout: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}}, then the data section; offsets are relative to it.
// Every check that guards a later read happens here, against the file size, before any tensor
// byte is touched: header length, JSON shape, dtype, shape product overflow,
// end - begin == numel * itemsize, offsets inside the data section, no two tensors overlapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gavamoe {

// Largest header accepted (the reference implementation uses the same bound).
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct SafetensorsHeaderEntry {
  std::string dtype;  // "F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t data_start = 0;  // byte offset of the data section in the file (8 + N)
  std::map<std::string, SafetensorsHeaderEntry> entries;
  std::map<std::string, std::string> metadata;
};

// Bytes per element of a dtype name, or 0 when the name is not a supported dtype.
size_t safetensors_dtype_size(const std::string& dtype);

// Parses and validates the header of the file whose bytes are [file, file + file_size).
// Throws gavamoe::Error naming `path` (and the tensor, when one is at fault).
SafetensorsHeader parse_safetensors_header(const uint8_t* file, uint64_t file_size,
                                           const std::string& path);

}  // namespace gavamoe
