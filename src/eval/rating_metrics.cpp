// Clipped RMSE and MAE; see rating_metrics.hpp. Sums run in record order like the published loop.
#include "gavamoe/eval/rating_metrics.hpp"

#include <cmath>

namespace gavamoe::eval {

RatingErrors rating_errors(const std::vector<double>& ratings, const std::vector<double>& predicted,
                           double low, double high) {
  double squared = 0.0, absolute = 0.0;
  for (size_t i = 0; i < ratings.size(); ++i) {
    double p = predicted[i];
    if (p > high) p = high;
    if (p < low) p = low;
    const double error = p - ratings[i];
    squared += error * error;
    absolute += std::fabs(error);
  }
  const double n = static_cast<double>(ratings.size());
  return {std::sqrt(squared / n), absolute / n};
}

}  // namespace gavamoe::eval
