// libFuzzer target: the GGUF header parser (src/model/gguf_header.cpp) on arbitrary bytes.
//
// Every input must either parse or throw gavamoe::Error; anything else (another exception, a
// sanitizer report, a leak, a huge allocation from a lying count) is a crash. A header that
// parses must keep the promises loading relies on (every tensor's bytes aligned and inside the
// file, sizes that match the shapes), and its typed metadata accessors may only throw
// gavamoe::Error. Plain C++: builds without LibTorch.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/gguf_header.hpp"

namespace {

// Each accessor on each key: a type that does not fit is an Error, nothing worse.
void read_every_way(const gavamoe::GgufMetadata& metadata, const std::string& key) {
  auto attempt = [](auto&& read) {
    try {
      read();
    } catch (const gavamoe::Error&) {
    }
  };
  attempt([&] { metadata.integer(key); });
  attempt([&] { metadata.number(key, 0.0); });
  attempt([&] { metadata.boolean(key, false); });
  attempt([&] { metadata.string(key); });
  attempt([&] { metadata.strings(key); });
  attempt([&] { metadata.integers(key); });
}

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gavamoe::GgufHeader header;
  try {
    header = gavamoe::parse_gguf_header(data, size, "fuzz.gguf");
  } catch (const gavamoe::Error&) {
    return 0;
  }
  for (const auto& [key, value] : header.metadata.values) {
    read_every_way(header.metadata, key);
    gavamoe::gguf_value_type_name(value.type);
  }
  check(header.alignment > 0 && (header.alignment & (header.alignment - 1)) == 0);
  check(header.data_start % header.alignment == 0);
  for (const gavamoe::GgufTensorInfo& tensor : header.tensors) {
    const gavamoe::GgmlTypeInfo* type = gavamoe::ggml_type_info(tensor.type);
    check(type != nullptr && tensor.shape.size() <= 4);
    uint64_t numel = 1;
    for (int64_t dim : tensor.shape) {
      check(dim >= 0);
      numel *= static_cast<uint64_t>(dim);
    }
    check(numel == static_cast<uint64_t>(tensor.numel));
    check(numel % static_cast<uint64_t>(type->block_size) == 0);
    check(tensor.nbytes ==
          numel / static_cast<uint64_t>(type->block_size) * static_cast<uint64_t>(type->type_size));
    check(tensor.offset % header.alignment == 0);
    if (tensor.nbytes > 0)
      check(header.data_start <= size && tensor.offset <= size - header.data_start &&
            tensor.nbytes <= size - header.data_start - tensor.offset);
  }
  return 0;
}
