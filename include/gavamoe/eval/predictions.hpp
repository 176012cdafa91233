// The input of `gavamoe eval`: one row per explained (user, item) pair.
//
// JSON lines (one object per line) or CSV with a header (chosen by the .csv extension), holding
// at least `reference` and `generated` (strings) and optionally `feature` (string), `rating`
// and `predicted_rating` (numbers). Other keys are ignored. An optional key is given on every
// row or on none (JSON null and an empty CSV cell count as not given). Text must be UTF-8.
// A bad row stops the reading with one error naming the file and its line.
#pragma once

#include <string>
#include <vector>

namespace gavamoe::eval {

struct Predictions {
  std::vector<std::string> reference;
  std::vector<std::string> generated;
  std::vector<std::string> feature;      // empty unless has_feature
  std::vector<double> rating;            // empty unless has_rating
  std::vector<double> predicted_rating;  // empty unless has_predicted_rating
  bool has_feature = false;
  bool has_rating = false;
  bool has_predicted_rating = false;

  size_t size() const { return reference.size(); }
};

Predictions read_predictions(const std::string& path);
Predictions parse_predictions_jsonl(const std::string& text, const std::string& name);
Predictions parse_predictions_csv(const std::string& text, const std::string& name);

}  // namespace gavamoe::eval
