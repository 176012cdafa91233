// Reading prediction rows from JSON lines or CSV; see predictions.hpp.
#include "gavamoe/eval/predictions.hpp"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/csv.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe::eval {
namespace {

// Offset of the first byte that breaks UTF-8 (overlongs, surrogates and > U+10FFFF included),
// or npos.
size_t invalid_utf8_at(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    unsigned low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
      length = 2;
    else if (c == 0xE0)
      length = 3, low = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC)
      length = 3;
    else if (c == 0xED)
      length = 3, high = 0x9F;
    else if (c >= 0xEE && c <= 0xEF)
      length = 3;
    else if (c == 0xF0)
      length = 4, low = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
      length = 4;
    else if (c == 0xF4)
      length = 4, high = 0x8F;
    else
      return i;
    if (i + length > n || s[i + 1] < low || s[i + 1] > high) return i;
    for (size_t k = 2; k < length; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return std::string::npos;
}

// One row's optional values, before the all-or-none check.
struct RowValues {
  std::string reference, generated;
  std::optional<std::string> feature;
  std::optional<double> rating, predicted_rating;
};

// Adds rows one by one and enforces that each optional key is on every row or on none.
class Collector {
 public:
  explicit Collector(const std::string& name) : name_(name) {}

  void add(int64_t line, RowValues row) {
    check(line, "feature", row.feature.has_value(), out_.has_feature);
    check(line, "rating", row.rating.has_value(), out_.has_rating);
    check(line, "predicted_rating", row.predicted_rating.has_value(), out_.has_predicted_rating);
    if (first_line_ == 0) first_line_ = line;
    out_.reference.push_back(std::move(row.reference));
    out_.generated.push_back(std::move(row.generated));
    if (row.feature) out_.feature.push_back(std::move(*row.feature));
    if (row.rating) out_.rating.push_back(*row.rating);
    if (row.predicted_rating) out_.predicted_rating.push_back(*row.predicted_rating);
  }

  Predictions finish() {
    if (out_.size() == 0) throw file_error(name_, "no prediction rows");
    if (out_.has_predicted_rating && !out_.has_rating)
      throw file_error(name_, "'predicted_rating' needs 'rating' on every row");
    return std::move(out_);
  }

 private:
  void check(int64_t line, const char* key, bool present, bool& column) {
    if (first_line_ == 0) {
      column = present;
    } else if (present != column) {
      throw file_error(name_, "line " + std::to_string(line),
                       std::string(present ? "has '" : "lacks '") + key + "' which line " +
                           std::to_string(first_line_) + (present ? " lacks" : " has") +
                           " (give it on every row or on none)");
    }
  }

  std::string name_;
  int64_t first_line_ = 0;
  Predictions out_;
};

void check_utf8(const std::string& text, const std::string& name, int64_t line) {
  const size_t bad = invalid_utf8_at(text);
  if (bad != std::string::npos)
    throw file_error(name, "line " + std::to_string(line),
                     "not valid UTF-8 (byte " + std::to_string(bad + 1) + " of the line)");
}

}  // namespace

Predictions parse_predictions_jsonl(const std::string& text, const std::string& name) {
  Collector rows(name);
  int64_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(line_number);
    check_utf8(line, name, line_number);
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw file_error(name, where, std::string("not valid JSON: ") + e.what());
    } catch (const nlohmann::json::exception&) {  // a number too large for a double
      throw file_error(name, where, "not valid JSON (a number is out of range)");
    }
    if (!object.is_object()) throw file_error(name, where, "expected a JSON object");
    auto given = [&](const char* key) {
      auto it = object.find(key);
      return it != object.end() && !it->is_null();
    };
    auto text_of = [&](const char* key) {
      if (!given(key)) throw file_error(name, where, std::string("missing key '") + key + "'");
      const auto& value = object[key];
      if (!value.is_string())
        throw file_error(name, where, std::string("'") + key + "' must be a string");
      return value.get<std::string>();
    };
    auto number_of = [&](const char* key) {
      const auto& value = object[key];
      if (!value.is_number())
        throw file_error(name, where, std::string("'") + key + "' must be a number");
      return value.get<double>();
    };
    RowValues row;
    row.reference = text_of("reference");
    row.generated = text_of("generated");
    if (given("feature")) row.feature = text_of("feature");
    if (given("rating")) row.rating = number_of("rating");
    if (given("predicted_rating")) row.predicted_rating = number_of("predicted_rating");
    rows.add(line_number, std::move(row));
  }
  return rows.finish();
}

Predictions parse_predictions_csv(const std::string& text, const std::string& name) {
  std::vector<CsvRow> table = parse_csv(text, name);
  if (table.empty()) throw file_error(name, "no header row");
  std::map<std::string, size_t> column;
  for (size_t k = 0; k < table[0].fields.size(); ++k) column[table[0].fields[k]] = k;
  for (const char* key : {"reference", "generated"}) {
    if (!column.count(key))
      throw file_error(name, "line " + std::to_string(table[0].line),
                       std::string("header has no '") + key + "' column");
  }
  Collector rows(name);
  for (size_t r = 1; r < table.size(); ++r) {
    const CsvRow& csv_row = table[r];
    const std::string where = "line " + std::to_string(csv_row.line);
    if (csv_row.fields.size() != table[0].fields.size())
      throw file_error(name, where,
                       std::to_string(csv_row.fields.size()) + " fields, the header has " +
                           std::to_string(table[0].fields.size()));
    for (const std::string& field : csv_row.fields) check_utf8(field, name, csv_row.line);
    auto cell = [&](const char* key) -> std::optional<std::string> {
      auto it = column.find(key);
      if (it == column.end() || csv_row.fields[it->second].empty()) return std::nullopt;
      return csv_row.fields[it->second];
    };
    auto number_of = [&](const char* key) -> std::optional<double> {
      std::optional<std::string> value = cell(key);
      if (!value) return std::nullopt;
      char* end = nullptr;
      errno = 0;
      const double number = std::strtod(value->c_str(), &end);
      if (end == value->c_str() || *end != '\0' || errno == ERANGE)
        throw file_error(name, where, std::string("'") + key + "' is not a number: " + *value);
      return number;
    };
    RowValues row;
    row.reference = csv_row.fields[column["reference"]];
    row.generated = csv_row.fields[column["generated"]];
    row.feature = cell("feature");
    row.rating = number_of("rating");
    row.predicted_rating = number_of("predicted_rating");
    rows.add(csv_row.line, std::move(row));
  }
  return rows.finish();
}

Predictions read_predictions(const std::string& path) {
  const std::string text = read_file(path);
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  return csv ? parse_predictions_csv(text, path) : parse_predictions_jsonl(text, path);
}

}  // namespace gavamoe::eval
