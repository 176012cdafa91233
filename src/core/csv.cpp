// RFC 4180 reader and field escaping; see csv.hpp.
#include "gavamoe/core/csv.hpp"

#include "gavamoe/core/error.hpp"

namespace gavamoe {

std::vector<CsvRow> parse_csv(const std::string& text, const std::string& name) {
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  int64_t line = 1;
  size_t i = 0;
  const size_t n = text.size();
  bool row_has_content = false;  // a blank line yields no record

  auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_row = [&] {
    if (row_has_content) {
      end_field();
      rows.push_back(std::move(row));
    }
    row = CsvRow();
    field.clear();
    row_has_content = false;
  };

  while (i < n) {
    if (!row_has_content) row.line = line;
    const char c = text[i];
    if (c == '"' && field.empty()) {
      // Quoted field: runs to the next lone quote.
      const int64_t start_line = line;
      row_has_content = true;
      ++i;
      while (true) {
        if (i >= n)
          throw file_error(name, "line " + std::to_string(start_line), "unterminated quoted field");
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
        throw file_error(name, "line " + std::to_string(line), "text after a closing quote");
      continue;
    }
    if (c == ',') {
      row_has_content = true;
      end_field();
      ++i;
    } else if (c == '\n' || (c == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      i += (c == '\r') ? 2 : 1;
      end_row();
      ++line;
    } else {
      row_has_content = true;
      field += c;
      ++i;
    }
  }
  end_row();
  return rows;
}

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace gavamoe
