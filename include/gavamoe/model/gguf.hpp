// GgufFile: a GGUF model file, memory-mapped and validated (see gguf_header.hpp for the format
// and the checks), with its metadata, its tensor table and float32 views of its tensors
// dequantised on demand (dequantize.hpp). Tensors are found by their GGUF names
// ("token_embd.weight", "blk.0.attn_q.weight"); shapes are in PyTorch order (ne reversed).
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "gavamoe/core/mapped_file.hpp"
#include "gavamoe/model/gguf_header.hpp"

namespace gavamoe {

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_.size(); }
  const GgufHeader& header() const { return header_; }
  const GgufMetadata& metadata() const { return header_.metadata; }
  const std::vector<GgufTensorInfo>& tensors() const { return header_.tensors; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // The tensor's entry; a missing one is an error naming the file and the tensor.
  const GgufTensorInfo& tensor(const std::string& name) const;
  // The tensor's bytes inside the mapping (valid while the file lives).
  const uint8_t* data(const GgufTensorInfo& info) const;

  // The tensor dequantised to a new float32 CPU tensor of its shape.
  torch::Tensor load(const std::string& name) const;
  // Dequantises the tensor into `destination` (its shape; float32 and contiguous on the CPU:
  // written in place; otherwise through one float32 copy).
  void load_into(const std::string& name, torch::Tensor destination) const;

 private:
  std::string path_;
  MappedFile file_;
  GgufHeader header_;
  std::map<std::string, size_t> index_;  // name -> position in header_.tensors
};

}  // namespace gavamoe
