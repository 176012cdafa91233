// LrSchedule: the learning rate of each optimizer step of the explainer trainer.
//
// Steps are 0-based. Warm-up rises linearly to the peak, reaching it at step warmup_steps - 1
// (step s has peak * (s + 1) / warmup_steps, so the first step never has rate 0); after it the
// rate stays at the peak ("constant") or decays to 0 at total_steps, linearly ("linear",
// peak * (1 - p)) or on a half cosine ("cosine", peak * (1 + cos(pi p)) / 2), with
// p = (s - warmup_steps) / (total_steps - warmup_steps).
#pragma once

#include <cstdint>
#include <string>

namespace gavamoe {

struct LrSchedule {
  double peak = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  std::string kind = "cosine";  // constant | linear | cosine

  double at(int64_t step) const;
  // Throws gavamoe::Error (naming train.schedule) for an unknown kind.
  static void check_kind(const std::string& kind);
};

}  // namespace gavamoe
