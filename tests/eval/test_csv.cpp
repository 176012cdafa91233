// RFC 4180 reading and escaping (core/csv.hpp): what csv_escape writes, parse_csv reads back.
#include <gtest/gtest.h>

#include "gavamoe/core/csv.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

TEST(Csv, EscapeQuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_escape("plain text"), "plain text");
  EXPECT_EQ(csv_escape("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_escape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_escape("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_escape(""), "");
}

TEST(Csv, RoundTripWithLineNumbers) {
  const std::vector<std::string> fields = {"a,b", "say \"hi\"", "two\r\nlines", "", "\u00e9"};
  std::string text = "x\n\n";
  for (size_t k = 0; k < fields.size(); ++k) text += (k ? "," : "") + csv_escape(fields[k]);
  text += "\nlast,,\n";
  const std::vector<CsvRow> rows = parse_csv(text, "t.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, std::vector<std::string>{"x"});
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].fields, fields);
  EXPECT_EQ(rows[2].line, 5);  // the quoted field spans lines 3 and 4
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"last", "", ""}));
}

TEST(Csv, MalformedQuotesAreErrors) {
  EXPECT_THROW(parse_csv("\"open", "t.csv"), Error);
  try {
    parse_csv("a\n\"b\"c\n", "t.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "t.csv:line 2: text after a closing quote");
  }
}

}  // namespace
}  // namespace gavamoe
