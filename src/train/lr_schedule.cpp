// Warm-up then constant, linear or cosine decay (lr_schedule.hpp).
#include "gavamoe/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

void LrSchedule::check_kind(const std::string& kind) {
  if (kind != "constant" && kind != "linear" && kind != "cosine")
    throw Error("config key 'train.schedule' must be constant, linear or cosine, got \"" + kind +
                "\"");
}

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return peak * static_cast<double>(step + 1) / warmup_steps;
  if (kind == "constant") return peak;
  const double decay_steps = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double progress = std::min(1.0, (step - warmup_steps) / decay_steps);
  if (kind == "linear") return peak * (1.0 - progress);
  return peak * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace gavamoe
