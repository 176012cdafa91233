// libFuzzer target: the pickle reader on arbitrary bytes.
//
// Every input must either parse or throw gavamoe::Error; anything else (another exception, a
// sanitizer report, a leak, a stack overflow) is a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/pickle.hpp"

namespace {

// Visits the result (bounded: a DAG of shared lists can hold exponentially many paths).
void walk(const gavamoe::PickleValue& root) {
  std::vector<const gavamoe::PickleValue*> pending = {&root};
  for (int visits = 0; !pending.empty() && visits < 100000; ++visits) {
    const gavamoe::PickleValue* value = pending.back();
    pending.pop_back();
    value->describe();
    if (value->items) {
      for (const auto& item : *value->items) pending.push_back(&item);
    }
    if (value->entries) {
      value->get("user");
      for (const auto& [key, item] : *value->entries) {
        pending.push_back(&key);
        pending.push_back(&item);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    walk(gavamoe::parse_pickle(std::string(reinterpret_cast<const char*>(data), size), "fuzz"));
  } catch (const gavamoe::Error&) {
  }
  return 0;
}
