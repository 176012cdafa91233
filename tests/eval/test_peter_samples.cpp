// Real-data check: the golden cases made from the PETER/PEPLER sample sentences keep only their
// metrics in the repository; make_eval_golden.py --write-inputs rebuilds their prediction files
// from $GAVAMOE_DATASETS with the recipe that made the golden, and the C++ reader and metrics
// must reproduce every value. Skips without GAVAMOE_DATASETS.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "eval/eval_golden.hpp"
#include "gavamoe/eval/evaluate.hpp"
#include "gavamoe/eval/predictions.hpp"
#include "test_util.hpp"

namespace gavamoe::eval {
namespace {

TEST(PeterSamples, RebuiltInputsMatchTheGolden) {
  GAVAMOE_REQUIRE_DATASETS(datasets);
  const std::string dir = test::scratch_dir();
  const std::string inputs = dir + "/inputs";
  const auto made =
      test::run_python(test::source_path("tests/golden/make_eval_golden.py"),
                       "--write-inputs " + test::quote(inputs) + " " + test::quote(datasets), dir);
  ASSERT_EQ(made.exit_code, 0) << made.err;

  int checked = 0;
  for (const auto& golden_case : test::eval_golden()["cases"]) {
    if (!golden_case.contains("source")) continue;  // inputs in the golden file: test_golden.cpp
    const std::string name = golden_case["name"];
    SCOPED_TRACE(name);
    const std::string options_path = inputs + "/" + name + ".options.json";
    ASSERT_TRUE(std::filesystem::exists(options_path));
    const nlohmann::json options = nlohmann::json::parse(test::read_text(options_path));
    test::expect_metrics_match(
        evaluate(read_predictions(inputs + "/" + name + ".jsonl"), test::eval_options_of(options)),
        golden_case["metrics"]);
    ++checked;
  }
  EXPECT_EQ(checked, 3);  // tripadvisor_shifted, movies_identical, perturbed
}

}  // namespace
}  // namespace gavamoe::eval
