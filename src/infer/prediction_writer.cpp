// JSON lines, CSV and Excel writers of prediction rows; see prediction_writer.hpp.
#include "gavamoe/infer/prediction_writer.hpp"

#include <xlsxwriter.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/csv.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/model/vae_predict.hpp"

namespace gavamoe {
namespace {

// Shortest text that reads back as the same double (what JSON writes).
std::string number_text(double value) { return nlohmann::json(value).dump(); }

std::string jsonl_text(const std::vector<PredictionRow>& rows) {
  std::string text;
  for (const PredictionRow& row : rows) {
    const nlohmann::ordered_json line = {{"user", row.user},
                                         {"item", row.item},
                                         {"rating", row.rating},
                                         {"predicted_rating", row.predicted_rating},
                                         {"feature", row.feature},
                                         {"reference", row.reference},
                                         {"generated", row.generated},
                                         {"cluster", row.cluster},
                                         {"latency_ms", row.latency_ms}};
    // Invalid UTF-8 (a truncated multi-byte character) becomes U+FFFD rather than an error.
    text += line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    text += '\n';
  }
  return text;
}

std::string csv_text(const std::vector<PredictionRow>& rows) {
  std::string text =
      "user,item,rating,predicted_rating,feature,reference,generated,cluster,latency_ms\n";
  for (const PredictionRow& row : rows) {
    const std::vector<std::string> fields = {row.user,
                                             row.item,
                                             number_text(row.rating),
                                             number_text(row.predicted_rating),
                                             row.feature,
                                             row.reference,
                                             row.generated,
                                             std::to_string(row.cluster),
                                             number_text(row.latency_ms)};
    for (size_t k = 0; k < fields.size(); ++k) text += (k ? "," : "") + csv_escape(fields[k]);
    text += '\n';
  }
  return text;
}

struct WorkbookCloser {
  void operator()(lxw_workbook* workbook) const { lxw_workbook_free(workbook); }
};

// One worksheet "predictions": the paper's columns, then ours.
void write_xlsx(const std::string& path, const std::vector<PredictionRow>& rows) {
  // libxlsxwriter writes the file itself at close; it writes to the temporary name, which
  // AtomicFile renames into place (or removes when anything fails).
  AtomicFile file(path, true);
  std::unique_ptr<lxw_workbook, WorkbookCloser> workbook(workbook_new(file.temp_path().c_str()));
  if (!workbook) throw file_error(path, "cannot create the workbook");
  lxw_worksheet* sheet = workbook_add_worksheet(workbook.get(), "predictions");
  auto check = [&](lxw_error status, size_t row) {
    if (status != LXW_NO_ERROR)
      throw file_error(path, "row " + std::to_string(row + 1), lxw_strerror(status));
  };
  const char* header[] = {"userID",        "itemID",           "feature",
                          "original_text", "generate_text",    "inference_time",
                          "rating",        "predicted_rating", "cluster"};
  for (lxw_col_t c = 0; c < 9; ++c)
    check(worksheet_write_string(sheet, 0, c, header[c], nullptr), 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    const PredictionRow& row = rows[r];
    const auto at = static_cast<lxw_row_t>(r + 1);
    auto text = [&](lxw_col_t c, const std::string& value) {
      check(worksheet_write_string(sheet, at, c, value.c_str(), nullptr), r + 1);
    };
    auto number = [&](lxw_col_t c, double value) {
      check(worksheet_write_number(sheet, at, c, value, nullptr), r + 1);
    };
    text(0, row.user);
    text(1, row.item);
    text(2, row.feature);
    text(3, row.reference);
    text(4, row.generated);
    number(5, row.latency_ms);
    number(6, row.rating);
    number(7, row.predicted_rating);
    number(8, static_cast<double>(row.cluster));
  }
  const lxw_error closed = workbook_close(workbook.release());  // frees the workbook too
  if (closed != LXW_NO_ERROR) throw file_error(path, lxw_strerror(closed));
  file.commit();
}

}  // namespace

PredictionRow prediction_row(const Record& record, const VaePrediction& vae,
                             std::string generated) {
  PredictionRow row;
  row.user = record.user;
  row.item = record.item;
  row.rating = record.rating;
  row.predicted_rating = vae.expected_rating;
  row.feature = record.feature;
  row.reference = record.explanation;
  row.generated = std::move(generated);
  row.cluster = vae.assignment.cluster;
  return row;
}

PredictionFormat parse_prediction_format(const std::string& name) {
  if (name == "jsonl") return PredictionFormat::jsonl;
  if (name == "csv") return PredictionFormat::csv;
  if (name == "xlsx") return PredictionFormat::xlsx;
  throw Error("unknown prediction format '" + name + "' (jsonl, csv or xlsx)");
}

PredictionFormat prediction_format_for(const std::string& path, const std::string& name) {
  if (!name.empty()) return parse_prediction_format(name);
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".jsonl" || extension == ".json") return PredictionFormat::jsonl;
  if (extension == ".csv") return PredictionFormat::csv;
  if (extension == ".xlsx") return PredictionFormat::xlsx;
  throw file_error(path, "cannot tell the format from the extension '" + extension +
                             "' (.jsonl, .csv, .xlsx, or give --format)");
}

void write_predictions(const std::string& path, const std::vector<PredictionRow>& rows,
                       PredictionFormat format) {
  switch (format) {
    case PredictionFormat::jsonl:
      write_file_atomic(path, jsonl_text(rows));
      break;
    case PredictionFormat::csv:
      write_file_atomic(path, csv_text(rows));
      break;
    case PredictionFormat::xlsx:
      write_xlsx(path, rows);
      break;
  }
}

}  // namespace gavamoe
