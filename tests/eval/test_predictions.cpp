// Reading prediction rows: JSON lines and CSV, optional keys, and one clear error per bad row.
#include <gtest/gtest.h>

#include "gavamoe/core/csv.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/eval/predictions.hpp"

namespace gavamoe::eval {
namespace {

// The message of the Error that `parse` throws, or "" when it throws none.
template <typename Parse>
std::string error_of(Parse parse) {
  try {
    parse();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PredictionsJsonl, ReadsRequiredAndOptionalKeys) {
  const std::string text =
      "{\"reference\": \"a b\", \"generated\": \"a\", \"feature\": \"a\", \"rating\": 4, "
      "\"predicted_rating\": 3.5, \"user\": \"u1\"}\n"
      "\n"
      "{\"reference\": \"c\", \"generated\": \"\", \"feature\": \"c\", \"rating\": 2, "
      "\"predicted_rating\": 2.25}\n";
  const Predictions p = parse_predictions_jsonl(text, "pred.jsonl");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(p.has_feature && p.has_rating && p.has_predicted_rating);
  EXPECT_EQ(p.generated[1], "");
  EXPECT_EQ(p.predicted_rating[1], 2.25);
  const Predictions bare =
      parse_predictions_jsonl("{\"reference\": \"x\", \"generated\": \"y\"}\n", "p");
  EXPECT_FALSE(bare.has_feature || bare.has_rating || bare.has_predicted_rating);
}

TEST(PredictionsJsonl, BadRowsNameTheirLine) {
  const std::string good = "{\"reference\": \"a\", \"generated\": \"b\"}\n";
  EXPECT_EQ(
      error_of([&] { parse_predictions_jsonl(good + "\n{\"reference\": \"a\"}\n", "p.jsonl"); }),
      "p.jsonl:line 3: missing key 'generated'");
  const std::string latin1 = good + "{\"reference\": \"caf\xe9\", \"generated\": \"b\"}\n";
  EXPECT_NE(error_of([&] {
              parse_predictions_jsonl(latin1, "p.jsonl");
            }).find("p.jsonl:line 2: not valid UTF-8"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_predictions_jsonl(good + "{oops\n", "p.jsonl");
            }).find("p.jsonl:line 2: not valid JSON"),
            std::string::npos);
  EXPECT_EQ(error_of([&] {
              parse_predictions_jsonl("{\"reference\": 1, \"generated\": \"b\"}", "p.jsonl");
            }),
            "p.jsonl:line 1: 'reference' must be a string");
  EXPECT_EQ(error_of([&] { parse_predictions_jsonl("\n\n", "p.jsonl"); }),
            "p.jsonl: no prediction rows");
  EXPECT_EQ(error_of([&] {
              parse_predictions_jsonl(
                  "{\"reference\": \"a\", \"generated\": \"b\", "
                  "\"rating\": 1e309}",
                  "p.jsonl");
            }),
            "p.jsonl:line 1: not valid JSON (a number is out of range)");
}

TEST(PredictionsJsonl, OptionalKeysAreAllOrNone) {
  const std::string text =
      "{\"reference\": \"a\", \"generated\": \"b\", \"feature\": \"a\"}\n"
      "{\"reference\": \"a\", \"generated\": \"b\", \"feature\": null}\n";
  EXPECT_EQ(error_of([&] { parse_predictions_jsonl(text, "p"); }),
            "p:line 2: lacks 'feature' which line 1 has (give it on every row or on none)");
  EXPECT_EQ(error_of([&] {
              parse_predictions_jsonl(
                  "{\"reference\": \"a\", \"generated\": \"b\", \"predicted_rating\": 3}", "p");
            }),
            "p: 'predicted_rating' needs 'rating' on every row");
}

TEST(PredictionsCsv, ReadsWhatTheInferWriterWrites) {
  const std::vector<std::string> header = {
      "user",      "item",      "rating",  "predicted_rating", "feature",
      "reference", "generated", "cluster", "latency_ms"};
  const std::vector<std::vector<std::string>> records = {
      {"u1", "i1", "5", "4.75", "room", "the room, \"huge\"", "line one\nline two", "0", "12.5"},
      {"u2", "i2", "1", "1.5", "staff", "caf\u00e9 staff", "", "3", "9"}};
  std::string text;
  for (const auto* record : {&header, &records[0], &records[1]}) {
    for (size_t k = 0; k < record->size(); ++k) text += (k ? "," : "") + csv_escape((*record)[k]);
    text += "\r\n";
  }
  const Predictions p = parse_predictions_csv(text, "pred.csv");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p.reference[0], "the room, \"huge\"");
  EXPECT_EQ(p.generated[0], "line one\nline two");
  EXPECT_EQ(p.generated[1], "");
  EXPECT_EQ(p.feature[1], "staff");
  EXPECT_EQ(p.rating[0], 5.0);
  EXPECT_EQ(p.predicted_rating[0], 4.75);
}

TEST(PredictionsCsv, BadRowsNameTheirLine) {
  EXPECT_EQ(error_of([] { parse_predictions_csv("reference,generated\na,b\nc\n", "p.csv"); }),
            "p.csv:line 3: 1 fields, the header has 2");
  EXPECT_EQ(error_of([] { parse_predictions_csv("reference,text\na,b\n", "p.csv"); }),
            "p.csv:line 1: header has no 'generated' column");
  EXPECT_EQ(
      error_of([] { parse_predictions_csv("reference,generated,rating\na,b,five\n", "p.csv"); }),
      "p.csv:line 2: 'rating' is not a number: five");
  EXPECT_NE(error_of([] {
              parse_predictions_csv("reference,generated\n\"a\nb,c\n", "p.csv");
            }).find("p.csv:line 2: unterminated quoted field"),
            std::string::npos);
}

}  // namespace
}  // namespace gavamoe::eval
