// Read-only memory mapping of a regular file (mapped_file.hpp).
#include "gavamoe/core/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MappedFile::MappedFile(const std::string& path) {
  const FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0)
    throw file_error(path, std::string("cannot stat: ") + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) throw file_error(path, kFolderNotFile);
  if (!S_ISREG(info.st_mode)) throw file_error(path, "not a regular file");
  if (info.st_size == 0) return;
  void* mapping =
      ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (mapping == MAP_FAILED)
    throw file_error(path, std::string("cannot map: ") + std::strerror(errno));
  mapping_ = mapping;
  size_ = static_cast<size_t>(info.st_size);
}

MappedFile::~MappedFile() {
  if (mapping_) ::munmap(mapping_, size_);
}

}  // namespace gavamoe
