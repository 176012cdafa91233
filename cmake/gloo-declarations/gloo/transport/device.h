// Declarations of gloo's transport types for ProcessGroupGloo.hpp (see ../rendezvous/store.h).
#pragma once

namespace gloo::transport {
class Device;
class UnboundBuffer;
}  // namespace gloo::transport
