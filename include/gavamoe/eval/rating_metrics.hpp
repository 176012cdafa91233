// RMSE and MAE of predicted ratings, each prediction first clipped to [low, high] (the rating
// range of the dataset), as PEPLER and PETER report them.
#pragma once

#include <vector>

namespace gavamoe::eval {

struct RatingErrors {
  double rmse = 0.0;
  double mae = 0.0;
};

RatingErrors rating_errors(const std::vector<double>& ratings, const std::vector<double>& predicted,
                           double low, double high);

}  // namespace gavamoe::eval
