// Safetensors header parsing and validation: the security boundary of checkpoint loading.
// Plain C++ (no LibTorch), so that the fuzz target can build it alone.
#include "gavamoe/model/safetensors_header.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// Deepest JSON nesting a valid header needs is 3; anything much deeper is hostile.
constexpr int kMaxJsonDepth = 16;

// Names in messages are cut so that a hostile 100 MB name cannot flood the log.
std::string shown(const std::string& name) {
  constexpr size_t kMax = 80;
  return "'" + (name.size() <= kMax ? name : name.substr(0, kMax) + "...") + "'";
}

// Rejects nesting deeper than kMaxJsonDepth before the JSON parser builds a tree.
bool nesting_within_limit(const char* text, size_t size) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

uint64_t read_u64_le(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// A JSON integer >= 0 that fits int64, or throws with `what`.
uint64_t non_negative_integer(const json& value, const std::string& path, const std::string& what) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<uint64_t>();
  throw file_error(path, "header", what + " must be a non-negative integer");
}

SafetensorsHeaderEntry parse_entry(const std::string& name, const json& value, uint64_t data_size,
                                   const std::string& path) {
  const std::string where = "tensor " + shown(name);
  auto fail = [&](const std::string& what) {
    return file_error(path, "header", where + ": " + what);
  };
  if (!value.is_object()) throw fail("entry is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!value.contains(key)) throw fail(std::string("missing \"") + key + "\"");

  SafetensorsHeaderEntry entry;
  const json& dtype = value.at("dtype");
  if (!dtype.is_string()) throw fail("\"dtype\" is not a string");
  entry.dtype = dtype.get<std::string>();
  const size_t item_size = safetensors_dtype_size(entry.dtype);
  if (item_size == 0) throw fail("unknown dtype " + shown(entry.dtype));

  const json& shape = value.at("shape");
  if (!shape.is_array()) throw fail("\"shape\" is not an array");
  uint64_t numel = 1;
  for (const json& dim : shape) {
    const uint64_t size = non_negative_integer(dim, path, where + " shape dimension");
    if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(numel, size, &numel))
      throw fail("shape is too large");
    entry.shape.push_back(static_cast<int64_t>(size));
  }
  uint64_t byte_size = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(item_size), &byte_size))
    throw fail("shape is too large");

  const json& offsets = value.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2)
    throw fail("\"data_offsets\" is not [begin, end]");
  entry.begin = non_negative_integer(offsets[0], path, where + " data_offsets");
  entry.end = non_negative_integer(offsets[1], path, where + " data_offsets");
  if (entry.end < entry.begin) throw fail("data_offsets end is before begin");
  if (entry.end - entry.begin != byte_size)
    throw fail("data_offsets span " + std::to_string(entry.end - entry.begin) +
               " bytes but dtype and shape need " + std::to_string(byte_size));
  if (entry.end > data_size)
    throw fail("data_offsets end " + std::to_string(entry.end) + " is past the data section (" +
               std::to_string(data_size) + " bytes)");
  return entry;
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {{"F64", 8},  {"F32", 4}, {"F16", 2},
                                                      {"BF16", 2}, {"I64", 8}, {"I32", 4},
                                                      {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* file, uint64_t file_size,
                                           const std::string& path) {
  if (file_size < 8)
    throw file_error(path, "file is " + std::to_string(file_size) +
                               " bytes, too short for a safetensors header length");
  const uint64_t header_size = read_u64_le(file);
  if (header_size > kSafetensorsMaxHeaderBytes)
    throw file_error(
        path, "byte 0",
        "header length " + std::to_string(header_size) + " exceeds the limit of 100000000 bytes");
  if (header_size > file_size - 8)
    throw file_error(path, "byte 0",
                     "header length " + std::to_string(header_size) +
                         " runs past the end of the file (" + std::to_string(file_size) +
                         " bytes): truncated?");

  const char* text = reinterpret_cast<const char*>(file + 8);
  if (!nesting_within_limit(text, header_size))
    throw file_error(path, "header", "JSON nested too deeply");
  json root;
  try {
    root = json::parse(text, text + header_size);
  } catch (const json::exception& e) {
    throw file_error(path, "header", std::string("invalid JSON: ") + e.what());
  }
  if (!root.is_object()) throw file_error(path, "header", "JSON is not an object");

  SafetensorsHeader header;
  header.data_start = 8 + header_size;
  const uint64_t data_size = file_size - header.data_start;
  for (const auto& [name, value] : root.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw file_error(path, "header", "__metadata__ is not an object");
      for (const auto& [key, text_value] : value.items()) {
        if (!text_value.is_string())
          throw file_error(path, "header",
                           "__metadata__ value of " + shown(key) + " is not a string");
        header.metadata[key] = text_value.get<std::string>();
      }
      continue;
    }
    header.entries[name] = parse_entry(name, value, data_size, path);
  }

  // Non-overlap: sorted by begin, each tensor must end before the next begins. Empty tensors
  // own no bytes and cannot overlap anything.
  std::vector<std::pair<const std::string*, const SafetensorsHeaderEntry*>> by_begin;
  for (const auto& [name, entry] : header.entries)
    if (entry.end > entry.begin) by_begin.emplace_back(&name, &entry);
  std::sort(by_begin.begin(), by_begin.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (size_t i = 1; i < by_begin.size(); ++i)
    if (by_begin[i].second->begin < by_begin[i - 1].second->end)
      throw file_error(path, "header",
                       "tensors " + shown(*by_begin[i - 1].first) + " and " +
                           shown(*by_begin[i].first) + " overlap in the data section");
  return header;
}

}  // namespace gavamoe
