// libFuzzer target: the JSON-lines record reader on arbitrary text.
//
// Every input must either parse or throw gavamoe::Error; anything else (another exception, a
// sanitizer report, a leak) is a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/jsonl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gavamoe::parse_jsonl_records(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const gavamoe::Error&) {
  }
  return 0;
}
