// GgufFile: mmap, header validation, dequantised tensor access.
#include "gavamoe/model/gguf.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/dequantize.hpp"

namespace gavamoe {
namespace {

struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

GgufFile::GgufFile(const std::string& path) : path_(path) {
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0)
    throw file_error(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw file_error(path, "not a regular file");
  mapping_size_ = static_cast<size_t>(info.st_size);
  if (mapping_size_ == 0) {
    header_ = parse_gguf_header(nullptr, 0, path);  // throws the "truncated" error
    return;
  }
  void* mapping = ::mmap(nullptr, mapping_size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (mapping == MAP_FAILED)
    throw file_error(path, std::string("cannot map: ") + std::strerror(errno));
  mapping_ = mapping;
  bytes_ = static_cast<const uint8_t*>(mapping_);
  try {
    header_ = parse_gguf_header(bytes_, mapping_size_, path);
  } catch (...) {
    ::munmap(mapping_, mapping_size_);
    throw;
  }
  for (size_t i = 0; i < header_.tensors.size(); ++i) index_[header_.tensors[i].name] = i;
}

GgufFile::~GgufFile() {
  if (mapping_) ::munmap(mapping_, mapping_size_);
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* info = find_tensor(name);
  if (!info) throw file_error(path_, "no tensor '" + name + "'");
  return *info;
}

const uint8_t* GgufFile::data(const GgufTensorInfo& info) const {
  return bytes_ + header_.data_start + info.offset;
}

torch::Tensor GgufFile::load(const std::string& name) const {
  const GgufTensorInfo& info = tensor(name);
  torch::Tensor result = torch::empty(info.shape, torch::kFloat32);
  load_into(name, result);
  return result;
}

void GgufFile::load_into(const std::string& name, torch::Tensor destination) const {
  const GgufTensorInfo& info = tensor(name);
  if (destination.sizes() != torch::IntArrayRef(info.shape))
    throw file_error(path_, "tensor '" + name + "' has shape " +
                                c10::str(torch::IntArrayRef(info.shape)) + ", expected " +
                                c10::str(destination.sizes()));
  if (!can_dequantize(info.type))
    throw file_error(
        path_, "tensor '" + name + "' has type " + ggml_type_label(info.type) +
                   ", which cannot be dequantised (supported: " + dequantizable_type_names() + ")");
  torch::NoGradGuard no_grad;
  const bool in_place = destination.scalar_type() == torch::kFloat32 &&
                        destination.device().is_cpu() && destination.is_contiguous();
  torch::Tensor target = in_place ? destination : torch::empty(info.shape, torch::kFloat32);
  if (info.numel > 0) dequantize(info.type, data(info), info.numel, target.data_ptr<float>());
  if (!in_place) destination.copy_(target);
}

}  // namespace gavamoe
