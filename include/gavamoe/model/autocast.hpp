// Autocast: bf16 autocast on a device's backend (CPU or CUDA) for one scope.
//
// Autocast is thread-local state: the constructor turns it on (when asked), the destructor
// restores what was there and drops the cast cache at the outermost level.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/types.h>

namespace gavamoe {

class Autocast {
 public:
  Autocast(bool enabled, torch::Device device) : enabled_(enabled), type_(device.type()) {
    if (!enabled_) return;
    previous_ = at::autocast::is_autocast_enabled(type_);
    previous_dtype_ = at::autocast::get_autocast_dtype(type_);
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~Autocast() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, previous_);
    at::autocast::set_autocast_dtype(type_, previous_dtype_);
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool enabled_;
  at::DeviceType type_;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace gavamoe
