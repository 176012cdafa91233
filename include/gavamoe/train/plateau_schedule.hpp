// PlateauSchedule: cuts the learning rate when the validation score stops improving.
//
// The rule of PyTorch's ReduceLROnPlateau (threshold_mode "rel", cooldown 0, min_lr 0, eps
// 1e-8), as UniRec uses it: a score is better than the best so far when it exceeds
// best * (1 + threshold) (mode max; for mode min: below best * (1 - threshold)); after more
// than `patience` scores in a row that are not better, the rate is multiplied by `factor` and
// the count restarts. A cut smaller than 1e-8 is not made, so factor 1 means "never".
// The schedule holds a multiplier (scale) applied on top of the step schedule (LrSchedule).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace gavamoe {

struct PlateauOptions {
  double factor = 1.0;  // 1: off
  int64_t patience = 1;
  double threshold = 1e-4;
  bool higher_is_better = true;
};

class PlateauSchedule {
 public:
  explicit PlateauSchedule(PlateauOptions options = {}) : o_(options) {}

  // One validation score; `lr` is the rate the step schedule gives now (the cut is skipped when
  // it would change the effective rate by less than 1e-8). Returns true when the rate was cut.
  bool step(double score, double lr);
  double scale() const { return scale_; }

  nlohmann::json state() const;
  // Errors name `origin`.
  void load_state(const nlohmann::json& state, const std::string& origin);

 private:
  bool better(double score) const;

  PlateauOptions o_;
  bool has_best_ = false;
  double best_ = 0;
  int64_t bad_ = 0;
  double scale_ = 1.0;
};

}  // namespace gavamoe
