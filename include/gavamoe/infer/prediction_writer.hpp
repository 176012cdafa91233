// Writing the rows of `gavamoe infer`: one generated explanation per record, as JSON lines, CSV
// or an Excel sheet.
//
// jsonl and csv columns (what `gavamoe eval --pred` reads):
//   user, item, rating, predicted_rating, feature, reference, generated, cluster, latency_ms
// xlsx columns: the paper's sheet first, then ours:
//   userID, itemID, feature, original_text, generate_text, inference_time (ms),
//   rating, predicted_rating, cluster
// Files are written under a temporary name and renamed, so a failure leaves no partial file.
// write_table writes any such table (the align explanations use it too).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "gavamoe/data/record.hpp"

namespace gavamoe {

struct VaePrediction;  // gavamoe/model/vae_predict.hpp

struct PredictionRow {
  std::string user;
  std::string item;
  double rating = 0.0;
  double predicted_rating = 0.0;  // the VAE's expected rating
  std::string feature;
  std::string reference;  // the record's explanation
  std::string generated;
  int64_t cluster = 0;
  double latency_ms = 0.0;  // the batch's generation time shared among its records
};

// The row of `record` with the VAE's view of its pair and a generated text; latency_ms is left to
// the caller.
PredictionRow prediction_row(const Record& record, const VaePrediction& vae, std::string generated);

enum class PredictionFormat { jsonl, csv, xlsx };

// "jsonl" | "csv" | "xlsx"; anything else is an error naming the format.
PredictionFormat parse_prediction_format(const std::string& name);
// The format named by `name`, or (name empty) by the extension of `path`: .jsonl or .json,
// .csv, .xlsx; another extension is an error asking for the format.
PredictionFormat prediction_format_for(const std::string& path, const std::string& name = "");

void write_predictions(const std::string& path, const std::vector<PredictionRow>& rows,
                       PredictionFormat format);

// A table of named columns whose cells are text, integers or numbers.
using TableCell = std::variant<std::string, int64_t, double>;
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<TableCell>> rows;  // each as long as columns
};
// jsonl: one object per row, keys in column order (invalid UTF-8 becomes U+FFFD); csv: a
// header line, then the rows quoted for Python's csv reader (numbers in their shortest exact
// text); xlsx: one worksheet named `sheet`, the header in row 1.
void write_table(const std::string& path, const Table& table, PredictionFormat format,
                 const std::string& sheet = "rows");

}  // namespace gavamoe
