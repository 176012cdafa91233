// Every metric and the tokeniser against tests/golden/eval_golden.json, on the cases whose
// inputs are in the file (project-made sentences, so this test needs no datasets folder).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval/eval_golden.hpp"
#include "gavamoe/eval/evaluate.hpp"
#include "gavamoe/eval/tokenize.hpp"

namespace gavamoe::eval {
namespace {

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

TEST(Golden, TokensMatchPython) {
  for (const auto& example : test::eval_golden()["tokenize"]) {
    EXPECT_EQ(tokenize(example["text"].get<std::string>()),
              example["tokens"].get<std::vector<std::string>>())
        << example["text"];
  }
}

TEST(Golden, MetricsMatchPython) {
  int checked = 0;
  for (const auto& golden_case : test::eval_golden()["cases"]) {
    if (!golden_case.contains("rows")) continue;  // rebuilt from the datasets folder elsewhere
    SCOPED_TRACE(golden_case["name"].get<std::string>());
    test::expect_metrics_match(
        evaluate(rows_of(golden_case["rows"]), test::eval_options_of(golden_case)),
        golden_case["metrics"]);
    ++checked;
  }
  EXPECT_EQ(checked, 4);  // synthetic_shifted, synthetic_identical, synthetic_perturbed, edge
}

}  // namespace
}  // namespace gavamoe::eval
