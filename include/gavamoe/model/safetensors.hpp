// Safetensors files: a reader (memory-mapped, validated) and a writer.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32"|"F16"|"BF16"|..., "shape": [...], "data_offsets": [begin, end]},
//  "__metadata__": {...}}, then the data. The reader is a security boundary: header length,
// JSON, dtypes, shapes and offsets are checked against the file size before any tensor is
// touched (see safetensors_header.hpp); a bad file is a gavamoe::Error naming the file and the
// tensor. Dtypes: F32, F16, BF16, F64, I64, I32, I8, U8, BOOL. Little-endian hosts only.
#pragma once

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gavamoe/core/mapped_file.hpp"

namespace gavamoe {

struct SafetensorsEntry {
  torch::Dtype dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // A tensor that owns a copy of the bytes, in the file's dtype, on the CPU.
  torch::Tensor load(const std::string& name) const;
  // Copies the tensor straight from the mapping into `destination` (same shape; any dtype and
  // device: converted on the way), so a large checkpoint never sits in memory twice.
  void load_into(const std::string& name, torch::Tensor destination) const;

 private:
  // A non-owning CPU tensor over the mapped bytes (valid while the reader lives).
  torch::Tensor mapped(const std::string& name) const;

  std::string path_;
  MappedFile file_;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
  const uint8_t* data_ = nullptr;  // start of the data section inside the mapping
};

// Writes tensors (any device, contiguous or not) in name order, atomically.
void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace gavamoe
