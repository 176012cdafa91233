// MappedFile: a regular file memory-mapped read-only for the lifetime of the object, the common
// ground of the checkpoint readers (safetensors, GGUF). An empty file maps to no bytes
// (data() == nullptr, size() == 0), so a reader's own "too short" check reports it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gavamoe {

class MappedFile {
 public:
  // Errors (cannot open, not a regular file, cannot map) name the file.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return static_cast<const uint8_t*>(mapping_); }
  size_t size() const { return size_; }

 private:
  void* mapping_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gavamoe
