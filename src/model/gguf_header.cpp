// GGUF header parsing and validation: the security boundary of GGUF loading.
// Plain C++ (no LibTorch), so that the fuzz target can build it alone. Every read goes through
// Cursor, which checks the remaining size first; counts are checked against the bytes left
// (each element needs at least its smallest encoding) before anything is reserved.
#include "gavamoe/model/gguf_header.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read little-endian
constexpr uint32_t kMaxDims = 4;

// Names in messages are cut so that a hostile name cannot flood the log.
std::string shown(const std::string& name) {
  constexpr size_t kMax = 80;
  return "'" + (name.size() <= kMax ? name : name.substr(0, kMax) + "...") + "'";
}

// Smallest encoded size of one element of `type` (arrays: u32 type + u64 count).
uint64_t min_encoded_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
    case GgufValueType::kString:
      return 8;
    case GgufValueType::kArray:
      return 12;
  }
  return 0;
}

bool known_value_type(uint32_t type) { return type <= static_cast<uint32_t>(GgufValueType::kF64); }

// Reads little-endian values from [data, data + size), checking the bounds before each read.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& path)
      : data_(data), size_(size), path_(path) {}

  uint64_t position() const { return position_; }
  uint64_t remaining() const { return size_ - position_; }

  // Throws unless `count` more bytes exist; `what` says what was being read.
  void need(uint64_t count, const std::string& what) const {
    if (count > remaining())
      throw file_error(path_, "truncated at byte " + std::to_string(position_) + " (reading " +
                                  what + ", " + std::to_string(count) + " bytes needed, " +
                                  std::to_string(remaining()) + " left)");
  }
  const uint8_t* take(uint64_t count, const std::string& what) {
    need(count, what);
    const uint8_t* start = data_ + position_;
    position_ += count;
    return start;
  }
  uint64_t unsigned_le(int bytes, const std::string& what) {
    const uint8_t* p = take(static_cast<uint64_t>(bytes), what);
    uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
    return value;
  }
  uint32_t u32(const std::string& what) { return static_cast<uint32_t>(unsigned_le(4, what)); }
  uint64_t u64(const std::string& what) { return unsigned_le(8, what); }
  std::string string(uint64_t limit, const std::string& what) {
    const uint64_t length = u64(what + " length");
    if (length > limit)
      throw file_error(path_, "byte " + std::to_string(position_ - 8),
                       what + " is " + std::to_string(length) + " bytes long (at most " +
                           std::to_string(limit) + " accepted)");
    const uint8_t* bytes = take(length, what);
    return std::string(reinterpret_cast<const char*>(bytes), static_cast<size_t>(length));
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t position_ = 0;
  const std::string& path_;
};

// Running totals of the things whose number the limits bound across the whole file.
struct Budget {
  uint64_t array_strings = 0;
  uint64_t nested_arrays = 0;
};

class HeaderParser {
 public:
  HeaderParser(const uint8_t* file, uint64_t size, const std::string& path)
      : cursor_(file, size, path), file_size_(size), path_(path) {}

  GgufHeader parse() {
    GgufHeader header;
    header.metadata.path = path_;
    const uint32_t magic = cursor_.u32("the magic number");
    if (magic != kMagic) throw file_error(path_, "not a GGUF file (no \"GGUF\" magic at byte 0)");
    header.version = cursor_.u32("the version");
    if (header.version != 0 && (header.version & 0xFFFF) == 0)
      throw file_error(path_, "big-endian GGUF files are not supported");
    if (header.version == 1)
      throw file_error(path_, "GGUF version 1 is not supported (only versions 2 and 3)");
    if (header.version != 2 && header.version != 3)
      throw file_error(path_, "unsupported GGUF version " + std::to_string(header.version) +
                                  " (only versions 2 and 3)");
    const uint64_t tensor_count = cursor_.u64("the tensor count");
    const uint64_t kv_count = cursor_.u64("the metadata count");
    // Smallest entries: a key/value is 8 + 4 + 1 bytes, a tensor info 8 + 4 + 4 + 8.
    if (kv_count > cursor_.remaining() / 13)
      throw file_error(
          path_, "metadata count " + std::to_string(kv_count) + " is more than the file can hold");
    if (tensor_count > kGgufMaxTensors || tensor_count > cursor_.remaining() / 24)
      throw file_error(path_, "tensor count " + std::to_string(tensor_count) +
                                  " is more than the file can hold");

    for (uint64_t i = 0; i < kv_count; ++i) {
      std::string key = cursor_.string(kGgufMaxNameBytes, "metadata key " + std::to_string(i));
      const std::string where = "the value of " + shown(key);
      const uint32_t type = cursor_.u32("the type of " + shown(key));
      if (!known_value_type(type))
        throw file_error(
            path_, "metadata " + shown(key) + " has unknown value type " + std::to_string(type));
      GgufValue value = parse_value(static_cast<GgufValueType>(type), where, 0);
      if (header.metadata.values.count(key))
        throw file_error(path_, "metadata key " + shown(key) + " appears twice");
      header.metadata.values.emplace(std::move(key), std::move(value));
    }

    if (const GgufValue* alignment = header.metadata.find("general.alignment")) {
      if (!alignment->is_integer()) throw file_error(path_, "general.alignment must be an integer");
      const int64_t value = header.metadata.integer("general.alignment");
      if (value <= 0 || (value & (value - 1)) != 0 ||
          static_cast<uint64_t>(value) > kGgufMaxAlignment)
        throw file_error(path_, "general.alignment " + std::to_string(value) +
                                    " is not a power of two up to " +
                                    std::to_string(kGgufMaxAlignment));
      header.alignment = static_cast<uint64_t>(value);
    }

    header.tensors.reserve(static_cast<size_t>(tensor_count));
    for (uint64_t i = 0; i < tensor_count; ++i) header.tensors.push_back(parse_tensor_info(i));

    // The data section starts at the next multiple of the alignment (overflow-free: the
    // position is at most the file size, far below 2^63).
    const uint64_t end = cursor_.position();
    header.data_start = (end + header.alignment - 1) / header.alignment * header.alignment;
    check_tensor_data(header);
    return header;
  }

 private:
  GgufValue parse_value(GgufValueType type, const std::string& where, int depth) {
    GgufValue value;
    value.type = type;
    switch (type) {
      case GgufValueType::kU8:
        value.bits = cursor_.unsigned_le(1, where);
        break;
      case GgufValueType::kI8:
        value.bits = static_cast<uint64_t>(
            static_cast<int64_t>(static_cast<int8_t>(cursor_.unsigned_le(1, where))));
        break;
      case GgufValueType::kU16:
        value.bits = cursor_.unsigned_le(2, where);
        break;
      case GgufValueType::kI16:
        value.bits = static_cast<uint64_t>(
            static_cast<int64_t>(static_cast<int16_t>(cursor_.unsigned_le(2, where))));
        break;
      case GgufValueType::kU32:
        value.bits = cursor_.unsigned_le(4, where);
        break;
      case GgufValueType::kI32:
        value.bits = static_cast<uint64_t>(
            static_cast<int64_t>(static_cast<int32_t>(cursor_.unsigned_le(4, where))));
        break;
      case GgufValueType::kU64:
      case GgufValueType::kI64:
        value.bits = cursor_.unsigned_le(8, where);
        break;
      case GgufValueType::kF32: {
        const uint32_t bits = static_cast<uint32_t>(cursor_.unsigned_le(4, where));
        float f;
        std::memcpy(&f, &bits, 4);
        value.number = f;
        break;
      }
      case GgufValueType::kF64: {
        const uint64_t bits = cursor_.unsigned_le(8, where);
        std::memcpy(&value.number, &bits, 8);
        break;
      }
      case GgufValueType::kBool:
        value.bits = cursor_.unsigned_le(1, where);
        if (value.bits > 1)
          throw file_error(path_, where + " is a BOOL holding " + std::to_string(value.bits) +
                                      " (only 0 and 1)");
        break;
      case GgufValueType::kString:
        value.text = cursor_.string(kGgufMaxStringBytes, where);
        break;
      case GgufValueType::kArray:
        parse_array(value, where, depth);
        break;
    }
    return value;
  }

  void parse_array(GgufValue& value, const std::string& where, int depth) {
    if (depth >= kGgufMaxArrayDepth)
      throw file_error(path_, where + ": arrays nested deeper than " +
                                  std::to_string(kGgufMaxArrayDepth) + " levels");
    const uint32_t element_type = cursor_.u32(where + " (array element type)");
    if (!known_value_type(element_type))
      throw file_error(path_,
                       where + ": array of unknown value type " + std::to_string(element_type));
    value.element_type = static_cast<GgufValueType>(element_type);
    value.count = cursor_.u64(where + " (array length)");
    if (value.count > cursor_.remaining() / min_encoded_size(value.element_type))
      throw file_error(path_, where + ": array of " + std::to_string(value.count) + " " +
                                  gguf_value_type_name(value.element_type) +
                                  " elements is more than the file can hold");
    const size_t count = static_cast<size_t>(value.count);
    switch (value.element_type) {
      case GgufValueType::kString:
        budget_.array_strings += value.count;
        if (budget_.array_strings > kGgufMaxArrayStrings)
          throw file_error(path_, where + ": more than " + std::to_string(kGgufMaxArrayStrings) +
                                      " strings in arrays");
        value.strings.reserve(count);
        for (size_t i = 0; i < count; ++i)
          value.strings.push_back(cursor_.string(kGgufMaxStringBytes, where));
        break;
      case GgufValueType::kArray:
        budget_.nested_arrays += value.count;
        if (budget_.nested_arrays > kGgufMaxNestedArrays)
          throw file_error(path_, where + ": more than " + std::to_string(kGgufMaxNestedArrays) +
                                      " arrays inside arrays");
        value.arrays.reserve(count);
        for (size_t i = 0; i < count; ++i)
          value.arrays.push_back(parse_value(GgufValueType::kArray, where, depth + 1));
        break;
      default: {
        const uint64_t bytes = value.count * min_encoded_size(value.element_type);
        const uint8_t* data = cursor_.take(bytes, where);
        if (value.element_type == GgufValueType::kBool)
          for (uint64_t i = 0; i < bytes; ++i)
            if (data[i] > 1)
              throw file_error(path_, where + ": BOOL array holds " + std::to_string(data[i]) +
                                          " (only 0 and 1)");
        value.elements_raw.assign(data, data + bytes);
      }
    }
  }

  GgufTensorInfo parse_tensor_info(uint64_t index) {
    GgufTensorInfo info;
    info.name = cursor_.string(kGgufMaxNameBytes, "the name of tensor " + std::to_string(index));
    const std::string where = "tensor " + shown(info.name);
    if (!names_.insert(info.name).second) throw file_error(path_, where + " appears twice");
    const uint32_t n_dims = cursor_.u32("the dimension count of " + where);
    if (n_dims > kMaxDims)
      throw file_error(path_, where + " has " + std::to_string(n_dims) + " dimensions (at most " +
                                  std::to_string(kMaxDims) + ")");
    std::vector<int64_t> ne(n_dims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t size = cursor_.u64("the shape of " + where);
      if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (size != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / size))
        throw file_error(path_, where + " has more elements than 2^63");
      numel *= size;
      ne[d] = static_cast<int64_t>(size);
    }
    info.shape.assign(ne.rbegin(), ne.rend());
    info.numel = static_cast<int64_t>(numel);
    info.type = cursor_.u32("the type of " + where);
    const GgmlTypeInfo* type = ggml_type_info(info.type);
    if (!type) throw file_error(path_, where + " has " + ggml_type_label(info.type));
    const int64_t row = n_dims == 0 ? 1 : ne[0];
    if (row % type->block_size != 0)
      throw file_error(path_, where + ": its rows of " + std::to_string(row) +
                                  " elements are not whole " + type->name + " blocks of " +
                                  std::to_string(type->block_size));
    const uint64_t blocks = numel / static_cast<uint64_t>(type->block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(type->type_size))
      throw file_error(path_, where + " is larger than 2^64 bytes");
    info.nbytes = blocks * static_cast<uint64_t>(type->type_size);
    info.offset = cursor_.u64("the data offset of " + where);
    return info;
  }

  void check_tensor_data(const GgufHeader& header) {
    const uint64_t data_size = file_size_ >= header.data_start ? file_size_ - header.data_start : 0;
    std::vector<const GgufTensorInfo*> by_offset;
    for (const GgufTensorInfo& info : header.tensors) {
      const std::string where = "tensor " + shown(info.name);
      if (info.offset % header.alignment != 0)
        throw file_error(path_, where + ": data offset " + std::to_string(info.offset) +
                                    " is not a multiple of the alignment " +
                                    std::to_string(header.alignment));
      if (info.offset > data_size || info.nbytes > data_size - info.offset)
        throw file_error(path_, where + " extends past the end of the file (" +
                                    std::to_string(info.nbytes) + " bytes at offset " +
                                    std::to_string(info.offset) + " of a data section of " +
                                    std::to_string(data_size) + " bytes)");
      // A tensor without bytes overlaps nothing, wherever it points. (Sorted among the others,
      // it made the verdict depend on the order of tensors with the same offset.)
      if (info.nbytes > 0) by_offset.push_back(&info);
    }
    // Sorted by offset, a tensor that overlaps any other overlaps its successor.
    std::sort(
        by_offset.begin(), by_offset.end(),
        [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensorInfo& before = *by_offset[i - 1];
      if (before.offset + before.nbytes > by_offset[i]->offset)
        throw file_error(path_, "tensors " + shown(before.name) + " and " +
                                    shown(by_offset[i]->name) + " overlap");
    }
  }

  Cursor cursor_;
  uint64_t file_size_;
  const std::string& path_;
  Budget budget_;
  std::set<std::string> names_;  // tensor names seen so far
};

// Little-endian element `i` of a raw numeric array, as a signed/unsigned 64-bit pattern.
uint64_t raw_element(const GgufValue& array, size_t i, bool& is_signed) {
  const uint64_t width = min_encoded_size(array.element_type);
  const uint8_t* p = array.elements_raw.data() + i * width;
  uint64_t value = 0;
  for (int b = static_cast<int>(width) - 1; b >= 0; --b) value = (value << 8) | p[b];
  is_signed =
      array.element_type == GgufValueType::kI8 || array.element_type == GgufValueType::kI16 ||
      array.element_type == GgufValueType::kI32 || array.element_type == GgufValueType::kI64;
  if (is_signed && width < 8) {
    const uint64_t sign = uint64_t{1} << (8 * width - 1);
    value = (value ^ sign) - sign;  // sign-extends
  }
  return value;
}

bool integer_type(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kU16:
    case GgufValueType::kI16:
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kU64:
    case GgufValueType::kI64:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string gguf_value_type_name(GgufValueType type) {
  static const char* const names[] = {"U8",   "I8",     "U16",   "I16", "U32", "I32", "F32",
                                      "BOOL", "STRING", "ARRAY", "U64", "I64", "F64"};
  const auto index = static_cast<uint32_t>(type);
  return index < 13 ? names[index] : "type " + std::to_string(index);
}

bool GgufValue::is_integer() const { return integer_type(type); }

const GgufValue* GgufMetadata::find(const std::string& key) const {
  const auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

int64_t GgufMetadata::integer(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) throw file_error(path, "missing metadata key " + shown(key));
  if (!value->is_integer())
    throw file_error(path, "metadata " + shown(key) + " must be an integer, not " +
                               gguf_value_type_name(value->type));
  if (value->type == GgufValueType::kU64 &&
      value->bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw file_error(path, "metadata " + shown(key) + " is too large");
  return static_cast<int64_t>(value->bits);
}

int64_t GgufMetadata::integer(const std::string& key, int64_t fallback) const {
  return contains(key) ? integer(key) : fallback;
}

double GgufMetadata::number(const std::string& key, double fallback) const {
  const GgufValue* value = find(key);
  if (!value) return fallback;
  if (value->type == GgufValueType::kF32 || value->type == GgufValueType::kF64)
    return value->number;
  if (value->is_integer()) return static_cast<double>(integer(key));
  throw file_error(path, "metadata " + shown(key) + " must be a number, not " +
                             gguf_value_type_name(value->type));
}

bool GgufMetadata::boolean(const std::string& key, bool fallback) const {
  const GgufValue* value = find(key);
  if (!value) return fallback;
  if (value->type != GgufValueType::kBool)
    throw file_error(path, "metadata " + shown(key) + " must be a BOOL, not " +
                               gguf_value_type_name(value->type));
  return value->bits != 0;
}

std::string GgufMetadata::string(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) throw file_error(path, "missing metadata key " + shown(key));
  if (value->type != GgufValueType::kString)
    throw file_error(path, "metadata " + shown(key) + " must be a STRING, not " +
                               gguf_value_type_name(value->type));
  return value->text;
}

std::string GgufMetadata::string(const std::string& key, const std::string& fallback) const {
  return contains(key) ? string(key) : fallback;
}

std::vector<std::string> GgufMetadata::strings(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) throw file_error(path, "missing metadata key " + shown(key));
  if (value->type != GgufValueType::kArray || value->element_type != GgufValueType::kString)
    throw file_error(path, "metadata " + shown(key) + " must be an array of STRING");
  return value->strings;
}

std::vector<int64_t> GgufMetadata::integers(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) throw file_error(path, "missing metadata key " + shown(key));
  if (value->type != GgufValueType::kArray || !integer_type(value->element_type))
    throw file_error(path, "metadata " + shown(key) + " must be an array of integers");
  std::vector<int64_t> result(static_cast<size_t>(value->count));
  for (size_t i = 0; i < result.size(); ++i) {
    bool is_signed = false;
    const uint64_t bits = raw_element(*value, i, is_signed);
    if (!is_signed && bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw file_error(path, "metadata " + shown(key) + " holds a value that is too large");
    result[i] = static_cast<int64_t>(bits);
  }
  return result;
}

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  // ggml/src/ggml.c type_traits (gguf-py GGML_QUANT_SIZES); ids 4, 5, 31-33 and 36-38 were
  // removed from ggml.
  static const GgmlTypeInfo kTypes[] = {
      {"F32", 1, 4},        {"F16", 1, 2},       {"Q4_0", 32, 18},     {"Q4_1", 32, 20},
      {nullptr, 0, 0},      {nullptr, 0, 0},     {"Q5_0", 32, 22},     {"Q5_1", 32, 24},
      {"Q8_0", 32, 34},     {"Q8_1", 32, 36},    {"Q2_K", 256, 84},    {"Q3_K", 256, 110},
      {"Q4_K", 256, 144},   {"Q5_K", 256, 176},  {"Q6_K", 256, 210},   {"Q8_K", 256, 292},
      {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74}, {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
      {"IQ4_NL", 32, 18},   {"IQ3_S", 256, 110}, {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136},
      {"I8", 1, 1},         {"I16", 1, 2},       {"I32", 1, 4},        {"I64", 1, 8},
      {"F64", 1, 8},        {"IQ1_M", 256, 56},  {"BF16", 1, 2},       {nullptr, 0, 0},
      {nullptr, 0, 0},      {nullptr, 0, 0},     {"TQ1_0", 256, 54},   {"TQ2_0", 256, 66},
      {nullptr, 0, 0},      {nullptr, 0, 0},     {nullptr, 0, 0},      {"MXFP4", 32, 17},
      {"NVFP4", 64, 36},    {"Q1_0", 128, 18},
  };
  constexpr uint32_t kCount = sizeof(kTypes) / sizeof(kTypes[0]);
  return type < kCount && kTypes[type].name ? &kTypes[type] : nullptr;
}

std::string ggml_type_label(uint32_t type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (!info) return "unknown type " + std::to_string(type);
  return std::string(info->name) + " (type " + std::to_string(type) + ")";
}

GgufHeader parse_gguf_header(const uint8_t* file, uint64_t file_size, const std::string& path) {
  return HeaderParser(file, file_size, path).parse();
}

}  // namespace gavamoe
