// GgufFile: the mapped file, header validation, dequantised tensor access.
#include "gavamoe/model/gguf.hpp"

#include <torch/torch.h>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/dequantize.hpp"

namespace gavamoe {
GgufFile::GgufFile(const std::string& path) : path_(path), file_(path) {
  header_ = parse_gguf_header(file_.data(), file_.size(), path);
  for (size_t i = 0; i < header_.tensors.size(); ++i) index_[header_.tensors[i].name] = i;
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
  return file_.data() + header_.data_start + info.offset;
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
