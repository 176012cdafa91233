// Safetensors reader (mapped file + validated header) and atomic writer.
#include "gavamoe/model/safetensors.hpp"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/model/safetensors_header.hpp"

namespace gavamoe {
namespace {

const std::vector<std::pair<std::string, torch::Dtype>>& dtype_names() {
  static const std::vector<std::pair<std::string, torch::Dtype>> names = {
      {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"F64", torch::kFloat64}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
      {"I8", torch::kInt8},     {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};
  return names;
}

torch::Dtype dtype_from_name(const std::string& name) {
  for (const auto& [text, dtype] : dtype_names())
    if (text == name) return dtype;
  throw Error("safetensors: unknown dtype " + name);  // unreachable after validation
}

std::string dtype_name(torch::Dtype dtype, const std::string& path, const std::string& tensor) {
  for (const auto& [text, known] : dtype_names())
    if (known == dtype) return text;
  throw file_error(path, "tensor '" + tensor + "': dtype " + std::string(c10::toString(dtype)) +
                             " cannot be written to safetensors");
}

}  // namespace

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path), file_(path) {
  SafetensorsHeader header = parse_safetensors_header(file_.data(), file_.size(), path);
  data_ = file_.data() + header.data_start;
  metadata_ = std::move(header.metadata);
  for (auto& [name, parsed] : header.entries)
    entries_[name] = SafetensorsEntry{dtype_from_name(parsed.dtype), std::move(parsed.shape),
                                      parsed.begin, parsed.end};
}

std::vector<std::string> SafetensorsReader::names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

bool SafetensorsReader::contains(const std::string& name) const { return entries_.count(name) > 0; }

const SafetensorsEntry& SafetensorsReader::entry(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) throw file_error(path_, "no tensor named '" + name + "'");
  return it->second;
}

torch::Tensor SafetensorsReader::mapped(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const auto options = torch::TensorOptions().dtype(e.dtype);
  if (e.end == e.begin) return torch::empty(e.shape, options);
  // The mapping is read-only; the tensor is only ever read from (copied out of).
  auto* bytes = const_cast<uint8_t*>(data_ + e.begin);
  const auto byte_count = static_cast<int64_t>(e.end - e.begin);
  if (e.dtype == torch::kBool &&
      torch::from_blob(bytes, {byte_count}, torch::kUInt8).gt(1).any().item<bool>())
    throw file_error(path_, "tensor '" + name + "': BOOL data holds bytes other than 0 and 1");
  if (reinterpret_cast<uintptr_t>(bytes) % torch::elementSize(e.dtype) == 0)
    return torch::from_blob(bytes, e.shape, options);
  // Files from writers that do not pad the header may hold misaligned tensors: copy first.
  torch::Tensor aligned = torch::empty({byte_count}, torch::kUInt8);
  std::memcpy(aligned.data_ptr(), bytes, static_cast<size_t>(byte_count));
  return aligned.view(e.dtype).view(e.shape);
}

torch::Tensor SafetensorsReader::load(const std::string& name) const {
  return mapped(name).clone();
}

void SafetensorsReader::load_into(const std::string& name, torch::Tensor destination) const {
  const SafetensorsEntry& e = entry(name);
  if (destination.sizes() != torch::IntArrayRef(e.shape))
    throw file_error(path_, "tensor '" + name + "' has shape " +
                                c10::str(torch::IntArrayRef(e.shape)) + ", expected " +
                                c10::str(destination.sizes()));
  torch::NoGradGuard no_grad;
  destination.copy_(mapped(name));
}

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw file_error(path, "'__metadata__' is not a valid tensor name");
    const std::string dtype = dtype_name(tensor.scalar_type(), path, name);
    torch::Tensor bytes = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t size = static_cast<uint64_t>(bytes.nbytes());
    header[name] = {{"dtype", dtype},
                    {"shape", std::vector<int64_t>(bytes.sizes().begin(), bytes.sizes().end())},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
    contiguous.push_back(std::move(bytes));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(text.size() >> (8 * i));

  AtomicFile file(path, true);
  file.stream().write(reinterpret_cast<const char*>(length), 8);
  file.stream().write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const torch::Tensor& bytes : contiguous)
    file.stream().write(static_cast<const char*>(bytes.data_ptr()),
                        static_cast<std::streamsize>(bytes.nbytes()));
  file.commit();
}

}  // namespace gavamoe
