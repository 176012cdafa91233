// libFuzzer target: the safetensors header parser must reject any input with gavamoe::Error
// and never crash, hang or read outside the buffer. Plain C++: builds without LibTorch.
#include <cstddef>
#include <cstdint>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/safetensors_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gavamoe::parse_safetensors_header(data, size, "fuzz.safetensors");
  } catch (const gavamoe::Error&) {
  }
  return 0;
}
