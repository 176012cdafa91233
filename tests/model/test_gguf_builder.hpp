// GgufBuilder: writes small GGUF files byte by byte for the reader's tests, and remembers where
// each field went so that a test can overwrite it with a lie (a huge count, a bad offset).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace gavamoe::test {

class GgufBuilder {
 public:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;  // ggml order: ne[0] contiguous
    uint32_t type;
    std::string data;
  };

  uint32_t version = 3;
  uint64_t alignment = 32;  // used for the layout; add a general.alignment key to declare it

  void put_string(std::string& out, const std::string& text) {
    put(out, static_cast<uint64_t>(text.size()));
    out += text;
  }
  template <typename T>
  static void put(std::string& out, T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
  }

  // A key with a value already encoded (type id + bytes).
  void kv_raw(const std::string& key, uint32_t type, const std::string& encoded) {
    std::string entry;
    put_string(entry, key);
    put(entry, type);
    entry += encoded;
    kvs_.push_back(entry);
  }
  void kv_string(const std::string& key, const std::string& value) {
    std::string encoded;
    put_string(encoded, value);
    kv_raw(key, 8, encoded);
  }
  void kv_u32(const std::string& key, uint32_t value) {
    std::string encoded;
    put(encoded, value);
    kv_raw(key, 4, encoded);
  }
  void kv_u64(const std::string& key, uint64_t value) {
    std::string encoded;
    put(encoded, value);
    kv_raw(key, 10, encoded);
  }
  void kv_i32(const std::string& key, int32_t value) {
    std::string encoded;
    put(encoded, value);
    kv_raw(key, 5, encoded);
  }
  void kv_f32(const std::string& key, float value) {
    std::string encoded;
    put(encoded, value);
    kv_raw(key, 6, encoded);
  }
  void kv_bool(const std::string& key, bool value) {
    kv_raw(key, 7, std::string(1, value ? '\1' : '\0'));
  }
  void kv_strings(const std::string& key, const std::vector<std::string>& values) {
    std::string encoded;
    put(encoded, uint32_t{8});
    put(encoded, static_cast<uint64_t>(values.size()));
    for (const std::string& value : values) put_string(encoded, value);
    kv_raw(key, 9, encoded);
  }
  void kv_i32s(const std::string& key, const std::vector<int32_t>& values) {
    std::string encoded;
    put(encoded, uint32_t{5});
    put(encoded, static_cast<uint64_t>(values.size()));
    for (int32_t value : values) put(encoded, value);
    kv_raw(key, 9, encoded);
  }

  void tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type,
              const std::string& data) {
    tensors_.push_back({name, std::move(ne), type, data});
  }
  // An F32 tensor of `ne` holding `values`.
  void tensor_f32(const std::string& name, std::vector<uint64_t> ne,
                  const std::vector<float>& values) {
    tensor(name, std::move(ne), 0,
           std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
  }

  // The whole file; records where the counts and each tensor's fields are.
  std::string bytes() {
    std::string out;
    put(out, uint32_t{0x46554747});
    put(out, version);
    tensor_count_at = out.size();
    put(out, static_cast<uint64_t>(tensors_.size()));
    kv_count_at = out.size();
    put(out, static_cast<uint64_t>(kvs_.size()));
    kv_at.clear();
    for (const std::string& kv : kvs_) {
      kv_at.push_back(out.size());
      out += kv;
    }
    std::vector<uint64_t> offsets;
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
      offsets.push_back(offset);
      offset += (t.data.size() + alignment - 1) / alignment * alignment;
    }
    tensor_at.clear();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      TensorFields fields;
      fields.name = out.size();
      put_string(out, tensors_[i].name);
      fields.n_dims = out.size();
      put(out, static_cast<uint32_t>(tensors_[i].ne.size()));
      fields.ne = out.size();
      for (uint64_t n : tensors_[i].ne) put(out, n);
      fields.type = out.size();
      put(out, tensors_[i].type);
      fields.offset = out.size();
      put(out, offsets[i]);
      tensor_at.push_back(fields);
    }
    out.append((alignment - out.size() % alignment) % alignment, '\0');
    data_start = out.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {  // the file ends where the last data does
      out += tensors_[i].data;
      if (i + 1 < tensors_.size())
        out.append((alignment - tensors_[i].data.size() % alignment) % alignment, '\0');
    }
    return out;
  }

  // Field positions of the last bytes() call.
  struct TensorFields {
    size_t name, n_dims, ne, type, offset;
  };
  size_t tensor_count_at = 0, kv_count_at = 0, data_start = 0;
  std::vector<size_t> kv_at;  // start of each key/value entry (its key length)
  std::vector<TensorFields> tensor_at;

 private:
  std::vector<std::string> kvs_;
  std::vector<Tensor> tensors_;
};

// Overwrites the little-endian value at `position` of `file`.
template <typename T>
void patch(std::string& file, size_t position, T value) {
  std::memcpy(&file[position], &value, sizeof(T));
}

}  // namespace gavamoe::test
