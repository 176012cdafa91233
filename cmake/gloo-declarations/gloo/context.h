// Declaration of gloo's Context for ProcessGroupGloo.hpp (see rendezvous/store.h): only the
// member its inline setTimeout names.
#pragma once

#include <chrono>

namespace gloo {

class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};

}  // namespace gloo
