// tests/golden/eval_golden.json, made by tests/golden/make_eval_golden.py from an independent
// Python implementation of the published formulas (eval_reference.py), and how its cases are
// checked. A case holds `metrics` and either its `rows` (project-made inputs) or the `source`
// files its rows are rebuilt from (the script's --write-inputs; test_peter_samples.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/eval/evaluate.hpp"
#include "test_util.hpp"

namespace gavamoe::test {

inline const nlohmann::json& eval_golden() {
  static const nlohmann::json data =
      nlohmann::json::parse(read_text(source_path("tests/golden/eval_golden.json")));
  return data;
}

// The options of a case (or of a --write-inputs options file): null means unset.
inline eval::EvalOptions eval_options_of(const nlohmann::json& options) {
  eval::EvalOptions result;
  if (!options["feature_set"].is_null())
    result.feature_set = options["feature_set"].get<std::vector<std::string>>();
  if (!options["rating_range"].is_null())
    result.rating_range = std::make_pair(options["rating_range"][0].get<double>(),
                                         options["rating_range"][1].get<double>());
  return result;
}

// Same keys, and every value within 1e-12 relative of the Python one.
inline void expect_metrics_match(const nlohmann::ordered_json& got, const nlohmann::json& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, value] : want.items()) {
    ASSERT_TRUE(got.contains(key)) << key;
    const double expected = value.get<double>(), actual = got[key].get<double>();
    EXPECT_NEAR(actual, expected, 1e-12 * std::max(1.0, std::fabs(expected))) << key;
  }
}

}  // namespace gavamoe::test
