// Archives into memory, then into an atomic file (see the header for why).
#include "gavamoe/model/archive_file.hpp"

#include <cstring>

#include "gavamoe/core/atomic_file.hpp"

namespace gavamoe {

std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t size) -> size_t {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  return bytes;
}

void save_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  write_file_atomic(path, archive_bytes(archive));
}

}  // namespace gavamoe
