// CSV (RFC 4180): read a whole table, escape a field for writing.
//
// Fields are separated by commas; a field holding a comma, a double quote, CR or LF is written
// in double quotes with inner quotes doubled. Records end with LF or CRLF; a quoted field may
// span lines. Blank lines are skipped. Bytes are passed through as they are (no encoding check).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gavamoe {

struct CsvRow {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// Parses CSV text; errors (an unterminated quote, text after a closing quote) name `name` and
// the line.
std::vector<CsvRow> parse_csv(const std::string& text, const std::string& name);

// The field as it must appear in a CSV record: quoted only when needed.
std::string csv_escape(const std::string& field);

}  // namespace gavamoe
