// Real-data check: the golden inputs are the PETER/PEPLER sample sentences as they are on disk,
// and the metrics of the re-read pairs equal the golden values. Skips without GAVAMOE_DATASETS.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gavamoe/eval/evaluate.hpp"
#include "test_util.hpp"

namespace gavamoe::eval {
namespace {

std::vector<nlohmann::json> read_samples(const std::string& path) {
  std::vector<nlohmann::json> samples;
  std::istringstream lines(test::read_text(path));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) samples.push_back(nlohmann::json::parse(line));
  }
  return samples;
}

const nlohmann::json& golden_case(const std::string& name) {
  static const nlohmann::json golden =
      nlohmann::json::parse(test::read_text(test::source_path("tests/golden/eval_golden.json")));
  for (const auto& c : golden["cases"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no golden case " + name);
}

TEST(PeterSamples, ShiftedTripAdvisorPairsMatchTheGolden) {
  GAVAMOE_REQUIRE_DATASETS(datasets);
  const auto samples = read_samples(datasets + "/peter_samples/tripadvisor_test_head.jsonl");
  const nlohmann::json& want = golden_case("tripadvisor_shifted");
  ASSERT_EQ(samples.size(), want["rows"].size());
  Predictions rows;
  rows.has_feature = rows.has_rating = true;
  for (size_t i = 0; i < samples.size(); ++i) {
    rows.reference.push_back(samples[i]["review"]);
    rows.generated.push_back(samples[(i + 1) % samples.size()]["review"]);
    rows.feature.push_back(samples[i]["feature"]);
    rows.rating.push_back(samples[i]["label"]);
    EXPECT_EQ(rows.reference[i], want["rows"][i]["reference"]);
    EXPECT_EQ(rows.generated[i], want["rows"][i]["generated"]);
  }
  const nlohmann::ordered_json got = evaluate(rows);
  for (const char* key :
       {"bleu_1", "bleu_4_smooth", "rouge_l/f_score", "usr", "fmr", "fcr", "div"}) {
    const double expected = want["metrics"][key];
    EXPECT_NEAR(got[key].get<double>(), expected, 1e-12 * std::max(1.0, std::fabs(expected)))
        << key;
  }
}

}  // namespace
}  // namespace gavamoe::eval
