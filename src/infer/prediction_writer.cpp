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

std::string jsonl_text(const Table& table) {
  std::string text;
  for (const auto& row : table.rows) {
    nlohmann::ordered_json line = nlohmann::ordered_json::object();
    for (size_t c = 0; c < table.columns.size(); ++c)
      std::visit([&](const auto& value) { line[table.columns[c]] = value; }, row[c]);
    // Invalid UTF-8 (a truncated multi-byte character) becomes U+FFFD rather than an error.
    text += line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    text += '\n';
  }
  return text;
}

std::string cell_text(const TableCell& cell) {
  if (const auto* text = std::get_if<std::string>(&cell)) return *text;
  if (const auto* integer = std::get_if<int64_t>(&cell)) return std::to_string(*integer);
  return number_text(std::get<double>(cell));
}

std::string csv_text(const Table& table) {
  std::string text;
  for (size_t c = 0; c < table.columns.size(); ++c)
    text += (c ? "," : "") + csv_escape(table.columns[c]);
  text += '\n';
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < row.size(); ++c) text += (c ? "," : "") + csv_escape(cell_text(row[c]));
    text += '\n';
  }
  return text;
}

struct WorkbookCloser {
  void operator()(lxw_workbook* workbook) const { lxw_workbook_free(workbook); }
};

void write_xlsx(const std::string& path, const Table& table, const std::string& sheet_name) {
  // libxlsxwriter writes the file itself at close; it writes to the temporary name, which
  // AtomicFile renames into place (or removes when anything fails).
  AtomicFile file(path, true);
  std::unique_ptr<lxw_workbook, WorkbookCloser> workbook(workbook_new(file.temp_path().c_str()));
  if (!workbook) throw file_error(path, "cannot create the workbook");
  lxw_worksheet* sheet = workbook_add_worksheet(workbook.get(), sheet_name.c_str());
  auto check = [&](lxw_error status, size_t row) {
    if (status != LXW_NO_ERROR)
      throw file_error(path, "row " + std::to_string(row + 1), lxw_strerror(status));
  };
  for (size_t c = 0; c < table.columns.size(); ++c)
    check(worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(c), table.columns[c].c_str(),
                                 nullptr),
          0);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto at = static_cast<lxw_row_t>(r + 1);
    for (size_t c = 0; c < table.rows[r].size(); ++c) {
      const auto column = static_cast<lxw_col_t>(c);
      const TableCell& cell = table.rows[r][c];
      if (const auto* text = std::get_if<std::string>(&cell))
        check(worksheet_write_string(sheet, at, column, text->c_str(), nullptr), r + 1);
      else
        check(worksheet_write_number(sheet, at, column,
                                     std::holds_alternative<int64_t>(cell)
                                         ? static_cast<double>(std::get<int64_t>(cell))
                                         : std::get<double>(cell),
                                     nullptr),
              r + 1);
    }
  }
  const lxw_error closed = workbook_close(workbook.release());  // frees the workbook too
  if (closed != LXW_NO_ERROR) throw file_error(path, lxw_strerror(closed));
  file.commit();
}

// jsonl and csv: our columns; xlsx: the paper's sheet first, then ours.
Table prediction_table(const std::vector<PredictionRow>& rows, PredictionFormat format) {
  Table table;
  if (format == PredictionFormat::xlsx) {
    table.columns = {"userID", "itemID",           "feature", "original_text", "generate_text",
                     "inference_time", "rating", "predicted_rating", "cluster"};
    for (const PredictionRow& row : rows)
      table.rows.push_back({row.user, row.item, row.feature, row.reference, row.generated,
                            row.latency_ms, row.rating, row.predicted_rating, row.cluster});
    return table;
  }
  table.columns = {"user",      "item",      "rating",  "predicted_rating", "feature",
                   "reference", "generated", "cluster", "latency_ms"};
  for (const PredictionRow& row : rows)
    table.rows.push_back({row.user, row.item, row.rating, row.predicted_rating, row.feature,
                          row.reference, row.generated, row.cluster, row.latency_ms});
  return table;
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
  write_table(path, prediction_table(rows, format), format, "predictions");
}

void write_table(const std::string& path, const Table& table, PredictionFormat format,
                 const std::string& sheet) {
  for (const auto& row : table.rows)
    if (row.size() != table.columns.size())
      throw file_error(path, "a row has " + std::to_string(row.size()) + " cells for " +
                                 std::to_string(table.columns.size()) + " columns");
  switch (format) {
    case PredictionFormat::jsonl:
      write_file_atomic(path, jsonl_text(table));
      break;
    case PredictionFormat::csv:
      write_file_atomic(path, csv_text(table));
      break;
    case PredictionFormat::xlsx:
      write_xlsx(path, table, sheet);
      break;
  }
}

}  // namespace gavamoe
