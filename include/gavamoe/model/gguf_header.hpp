// GGUF header parsing and validation (llama.cpp's model file format, versions 2 and 3), without
// LibTorch so that the fuzz target can build it alone.
//
// Layout (little-endian, packed): u32 magic "GGUF" | u32 version | u64 tensor_count |
// u64 kv_count | kv_count x {string key, u32 value type, value} | tensor_count x {string name,
// u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset} | zero padding to the alignment
// (general.alignment, default 32) | tensor data; strings are u64 length + bytes. `ne[0]` is the
// contiguous axis, so the PyTorch shape is ne reversed. This is a security boundary: every
// length, count, offset and size is checked against the file size (overflow-safe) before
// anything is allocated or read, strings, arrays and nesting have limits, and a bad file is a
// gavamoe::Error naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gavamoe {

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// "U32", "STRING", ...
std::string gguf_value_type_name(GgufValueType type);

// One metadata value. Scalars: integers and bools in `bits` (signed types sign-extended),
// floats in `number`, strings in `text`. Arrays: `element_type` and `count`, with the elements
// in `elements_raw` (numbers and bools, little-endian as in the file), `strings` or `arrays`.
struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  uint64_t bits = 0;
  double number = 0;
  std::string text;
  GgufValueType element_type = GgufValueType::kU8;
  uint64_t count = 0;
  std::vector<uint8_t> elements_raw;
  std::vector<std::string> strings;
  std::vector<GgufValue> arrays;

  bool is_integer() const;  // any of the eight integer types
};

// The key/value section, with typed accessors whose errors name the file and the key.
class GgufMetadata {
 public:
  std::string path;  // the file, for messages
  std::map<std::string, GgufValue> values;

  bool contains(const std::string& key) const { return values.count(key) > 0; }
  const GgufValue* find(const std::string& key) const;
  // Any integer type (GGUF writers use U32, U64 or I32 for the same key), range-checked.
  int64_t integer(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t fallback) const;
  // F32, F64 or an integer.
  double number(const std::string& key, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  // Arrays of strings / of any integer type; absent keys are errors.
  std::vector<std::string> strings(const std::string& key) const;
  std::vector<int64_t> integers(const std::string& key) const;
};

// A ggml tensor type's name and block geometry; nullptr for ids ggml does not define.
struct GgmlTypeInfo {
  const char* name;
  int64_t block_size;  // elements per block
  int64_t type_size;   // bytes per block
};
const GgmlTypeInfo* ggml_type_info(uint32_t type);
// "Q4_K (type 12)", or "unknown type 99".
std::string ggml_type_label(uint32_t type);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // PyTorch order: ne reversed
  uint32_t type = 0;           // ggml type id
  uint64_t offset = 0;         // from the start of the data section
  uint64_t nbytes = 0;
  int64_t numel = 0;
};

struct GgufHeader {
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_start = 0;  // byte offset of the data section in the file
  GgufMetadata metadata;
  std::vector<GgufTensorInfo> tensors;  // file order
};

// Limits beyond which a file is refused as hostile (valid models stay far below them).
constexpr uint64_t kGgufMaxStringBytes = 16u << 20;   // one string (chat templates are KBs)
constexpr uint64_t kGgufMaxNameBytes = 65535;         // a key or tensor name
constexpr int kGgufMaxArrayDepth = 8;                 // arrays inside arrays
constexpr uint64_t kGgufMaxArrayStrings = 16u << 20;  // strings in all arrays together
constexpr uint64_t kGgufMaxNestedArrays = 1u << 16;   // arrays in arrays, all together
constexpr uint64_t kGgufMaxTensors = 1u << 20;
constexpr uint64_t kGgufMaxAlignment = 1u << 20;

// Parses and validates the header of the file whose bytes are [file, file + file_size):
// metadata, tensor table (n_dims <= 4, known type, whole blocks, size), alignment, and every
// tensor's data aligned, inside the file and not overlapping another.
GgufHeader parse_gguf_header(const uint8_t* file, uint64_t file_size, const std::string& path);

}  // namespace gavamoe
