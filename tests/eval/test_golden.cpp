// Every metric against tests/golden/eval_golden.json, made by make_eval_golden.py from an
// independent Python implementation of the published formulas (eval_reference.py). The inputs
// are in the golden file, so this test needs no datasets folder.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "gavamoe/eval/evaluate.hpp"
#include "gavamoe/eval/tokenize.hpp"
#include "test_util.hpp"

namespace gavamoe::eval {
namespace {

const nlohmann::json& golden() {
  static const nlohmann::json data =
      nlohmann::json::parse(test::read_text(test::source_path("tests/golden/eval_golden.json")));
  return data;
}

Predictions rows_of(const nlohmann::json& rows) {
  Predictions p;
  p.has_feature = p.has_rating = p.has_predicted_rating = true;
  for (const auto& row : rows) {
    p.reference.push_back(row["reference"]);
    p.generated.push_back(row["generated"]);
    p.feature.push_back(row["feature"]);
    p.rating.push_back(row["rating"]);
    p.predicted_rating.push_back(row["predicted_rating"]);
  }
  return p;
}

EvalOptions options_of(const nlohmann::json& golden_case) {
  EvalOptions options;
  if (!golden_case["feature_set"].is_null())
    options.feature_set = golden_case["feature_set"].get<std::vector<std::string>>();
  if (!golden_case["rating_range"].is_null())
    options.rating_range = std::make_pair(golden_case["rating_range"][0].get<double>(),
                                          golden_case["rating_range"][1].get<double>());
  return options;
}

TEST(Golden, TokensMatchPython) {
  for (const auto& example : golden()["tokenize"]) {
    EXPECT_EQ(tokenize(example["text"].get<std::string>()),
              example["tokens"].get<std::vector<std::string>>())
        << example["text"];
  }
}

TEST(Golden, MetricsMatchPython) {
  ASSERT_EQ(golden()["cases"].size(), 4u);
  for (const auto& golden_case : golden()["cases"]) {
    SCOPED_TRACE(golden_case["name"].get<std::string>());
    const nlohmann::ordered_json got =
        evaluate(rows_of(golden_case["rows"]), options_of(golden_case));
    const nlohmann::json& want = golden_case["metrics"];
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [key, value] : want.items()) {
      ASSERT_TRUE(got.contains(key)) << key;
      const double expected = value.get<double>(), actual = got[key].get<double>();
      EXPECT_NEAR(actual, expected, 1e-12 * std::max(1.0, std::fabs(expected))) << key;
    }
  }
}

}  // namespace
}  // namespace gavamoe::eval
