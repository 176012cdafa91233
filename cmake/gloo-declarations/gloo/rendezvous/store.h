// Declarations of gloo's rendezvous store, as LibTorch's ProcessGroupGloo.hpp names them.
//
// The torch wheel ships ProcessGroupGloo.hpp but not the gloo headers it includes. That header
// only holds gloo objects through pointers and derives GlooStore from this interface, so these
// declarations are enough to compile against it; all gloo code runs inside libtorch_cpu.
// Nothing here is defined or called by gavamoe (GLOO_STORE_HAS_STORE_V2 stays undefined).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace gloo::rendezvous {

class Store {
 public:
  virtual ~Store() = default;
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys,
                    const std::chrono::milliseconds& timeout) = 0;
};

}  // namespace gloo::rendezvous
