// All metrics of `gavamoe eval` for one set of prediction rows, as one ordered JSON object.
//
// Keys, in order: bleu_1, bleu_4 (unsmoothed, as PEPLER reports them), bleu_1_smooth,
// bleu_4_smooth, rouge_{1,2,l}/{f,p,r}_score (BLEU and ROUGE x100), usr, then fmr (when rows
// carry their feature), fcr and div (when a feature set is known), distinct_1, distinct_2,
// rmse and mae (when rows carry predicted_rating), n. usr, fmr, fcr, div and distinct_n are
// fractions. The definitions are in bleu.hpp, rouge.hpp, explainability.hpp and
// rating_metrics.hpp; every one works on PEPLER's tokens (tokenize.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gavamoe/eval/predictions.hpp"

namespace gavamoe::eval {

struct EvalOptions {
  // The dataset's feature set (PEPLER: the features of all its records); when empty, the set of
  // the rows' own features.
  std::vector<std::string> feature_set;
  // [low, high] for clipping predicted ratings; when unset, the rows' lowest and highest rating.
  std::optional<std::pair<double, double>> rating_range;
};

nlohmann::ordered_json evaluate(const Predictions& rows, const EvalOptions& options = {});

}  // namespace gavamoe::eval
