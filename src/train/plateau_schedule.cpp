// ReduceLROnPlateau's rule as a learning-rate multiplier (plateau_schedule.hpp).
#include "gavamoe/train/plateau_schedule.hpp"

#include "gavamoe/core/error.hpp"

namespace gavamoe {

bool PlateauSchedule::better(double score) const {
  if (!has_best_) return true;  // PyTorch starts from best = -inf (max) or +inf (min)
  return o_.higher_is_better ? score > best_ * (1.0 + o_.threshold)
                             : score < best_ * (1.0 - o_.threshold);
}

bool PlateauSchedule::step(double score, double lr) {
  if (better(score)) {
    best_ = score;
    has_best_ = true;
    bad_ = 0;
  } else {
    ++bad_;
  }
  if (bad_ <= o_.patience) return false;
  bad_ = 0;
  const double now = lr * scale_;
  if (now - now * o_.factor <= 1e-8) return false;
  scale_ *= o_.factor;
  return true;
}

nlohmann::json PlateauSchedule::state() const {
  return {{"has_best", has_best_}, {"best", best_}, {"bad", bad_}, {"scale", scale_}};
}

void PlateauSchedule::load_state(const nlohmann::json& state, const std::string& origin) {
  try {
    has_best_ = state.at("has_best").get<bool>();
    best_ = state.at("best").get<double>();
    bad_ = state.at("bad").get<int64_t>();
    scale_ = state.at("scale").get<double>();
  } catch (const nlohmann::json::exception&) {
    throw Error(origin + ": the learning-rate plateau state is damaged");
  }
}

}  // namespace gavamoe
