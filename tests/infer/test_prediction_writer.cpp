// Prediction writers: JSON lines, CSV and xlsx read back by independent readers (python3's
// json, csv and zipfile + XML modules), `gavamoe eval` reading what infer writes, format
// choice, and no file left behind on errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/infer/prediction_writer.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// Text that needs quoting in CSV and escaping in JSON and XML.
std::vector<PredictionRow> tricky_rows() {
  PredictionRow a;
  a.user = "u1";
  a.item = "i,1";
  a.rating = 4;
  a.predicted_rating = 3.8125;
  a.feature = "sound";
  a.reference = "the \"sound\" is great, really";
  a.generated = "great sound\nand <tone> & feel";
  a.cluster = 2;
  a.latency_ms = 12.5;
  PredictionRow b;
  b.user = "u2";
  b.item = "i2";
  b.rating = 1;
  b.predicted_rating = 1.0 / 3.0;
  b.feature = "caf\xc3\xa9";
  b.reference = "bad caf\xc3\xa9";
  b.generated = "";
  b.cluster = 0;
  b.latency_ms = 0.25;
  return {a, b};
}

// python3 (stdlib only) reads `path` as `kind` (jsonl | csv | xlsx) and prints the rows as a
// JSON list of lists (header first for csv and xlsx, objects for jsonl).
json read_back(const std::string& path, const std::string& kind, const std::string& dir) {
  const std::string script = dir + "/read_back.py";
  test::write_text(script, R"(import csv, json, sys, zipfile
import xml.etree.ElementTree as ET
path, kind = sys.argv[1], sys.argv[2]
if kind == "jsonl":
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
elif kind == "csv":
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
else:
    m = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    z = zipfile.ZipFile(path)
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(m + "si"):
            shared.append("".join(t.text or "" for t in si.iter(m + "t")))
    names = [s.get("name") for s in ET.fromstring(z.read("xl/workbook.xml")).iter(m + "sheet")]
    rows = [names]
    for row in ET.fromstring(z.read("xl/worksheets/sheet1.xml")).iter(m + "row"):
        cells = [""] * 9
        for c in row.iter(m + "c"):
            column = ord(c.get("r")[0]) - ord("A")
            v = c.find(m + "v")
            if v is None:
                continue
            cells[column] = shared[int(v.text)] if c.get("t") == "s" else float(v.text)
        rows.append(cells)
print(json.dumps(rows))
)");
  const auto result = test::run_python(script, test::quote(path) + " " + kind, dir);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return json::parse(result.out);
}

TEST(PredictionWriter, JsonlHasEveryColumnAndRoundTrips) {
  const std::string dir = test::scratch_dir();
  const auto rows = tricky_rows();
  write_predictions(dir + "/p.jsonl", rows, PredictionFormat::jsonl);
  const json back = read_back(dir + "/p.jsonl", "jsonl", dir);
  ASSERT_EQ(back.size(), rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    EXPECT_EQ(back[r]["user"], rows[r].user);
    EXPECT_EQ(back[r]["item"], rows[r].item);
    EXPECT_EQ(back[r]["rating"].get<double>(), rows[r].rating);
    EXPECT_EQ(back[r]["predicted_rating"].get<double>(), rows[r].predicted_rating);
    EXPECT_EQ(back[r]["feature"], rows[r].feature);
    EXPECT_EQ(back[r]["reference"], rows[r].reference);
    EXPECT_EQ(back[r]["generated"], rows[r].generated);
    EXPECT_EQ(back[r]["cluster"], rows[r].cluster);
    EXPECT_EQ(back[r]["latency_ms"].get<double>(), rows[r].latency_ms);
  }
}

TEST(PredictionWriter, CsvIsQuotedForPythonsReader) {
  const std::string dir = test::scratch_dir();
  const auto rows = tricky_rows();
  write_predictions(dir + "/p.csv", rows, PredictionFormat::csv);
  const json back = read_back(dir + "/p.csv", "csv", dir);
  ASSERT_EQ(back.size(), rows.size() + 1);
  EXPECT_EQ(back[0], json({"user", "item", "rating", "predicted_rating", "feature", "reference",
                           "generated", "cluster", "latency_ms"}));
  for (size_t r = 0; r < rows.size(); ++r) {
    const json& line = back[r + 1];
    EXPECT_EQ(line[1], rows[r].item);
    EXPECT_EQ(std::stod(line[3].get<std::string>()), rows[r].predicted_rating);  // exact
    EXPECT_EQ(line[4], rows[r].feature);
    EXPECT_EQ(line[5], rows[r].reference);
    EXPECT_EQ(line[6], rows[r].generated);
    EXPECT_EQ(line[7], std::to_string(rows[r].cluster));
  }
}

TEST(PredictionWriter, XlsxHasThePapersColumnsAndTheValues) {
  const std::string dir = test::scratch_dir();
  const auto rows = tricky_rows();
  write_predictions(dir + "/p.xlsx", rows, PredictionFormat::xlsx);
  const json back = read_back(dir + "/p.xlsx", "xlsx", dir);
  ASSERT_EQ(back.size(), rows.size() + 2);
  EXPECT_EQ(back[0], json({"predictions"}));
  EXPECT_EQ(back[1], json({"userID", "itemID", "feature", "original_text", "generate_text",
                           "inference_time", "rating", "predicted_rating", "cluster"}));
  for (size_t r = 0; r < rows.size(); ++r) {
    const json& line = back[r + 2];
    EXPECT_EQ(line[0], rows[r].user);
    EXPECT_EQ(line[1], rows[r].item);
    EXPECT_EQ(line[2], rows[r].feature);
    EXPECT_EQ(line[3], rows[r].reference);
    EXPECT_EQ(line[4], rows[r].generated);
    EXPECT_DOUBLE_EQ(line[5].get<double>(), rows[r].latency_ms);
    EXPECT_DOUBLE_EQ(line[6].get<double>(), rows[r].rating);
    EXPECT_DOUBLE_EQ(line[7].get<double>(), rows[r].predicted_rating);
    EXPECT_DOUBLE_EQ(line[8].get<double>(), static_cast<double>(rows[r].cluster));
  }
}

// eval reads both text formats, and gives the same metrics for the same rows.
TEST(PredictionWriter, EvalReadsJsonlAndCsvAlike) {
  const std::string dir = test::scratch_dir();
  const auto rows = tricky_rows();
  write_predictions(dir + "/p.jsonl", rows, PredictionFormat::jsonl);
  write_predictions(dir + "/p.csv", rows, PredictionFormat::csv);
  for (const char* name : {"p.jsonl", "p.csv"}) {
    const auto result = test::run_gavamoe(std::string("eval --pred ") + dir + "/" + name +
                                              " --out " + dir + "/" + name + ".metrics.json",
                                          dir);
    ASSERT_EQ(result.exit_code, 0) << name << ": " << result.err;
  }
  const json from_jsonl = json::parse(test::read_text(dir + "/p.jsonl.metrics.json"));
  const json from_csv = json::parse(test::read_text(dir + "/p.csv.metrics.json"));
  EXPECT_EQ(from_jsonl, from_csv);
  EXPECT_NE(from_jsonl.dump().find("rmse"), std::string::npos) << from_jsonl.dump();
}

TEST(PredictionWriter, FormatFromOptionOrExtension) {
  EXPECT_EQ(prediction_format_for("a/b.jsonl"), PredictionFormat::jsonl);
  EXPECT_EQ(prediction_format_for("b.csv"), PredictionFormat::csv);
  EXPECT_EQ(prediction_format_for("b.xlsx"), PredictionFormat::xlsx);
  EXPECT_EQ(prediction_format_for("b.txt", "csv"), PredictionFormat::csv);
  EXPECT_THROW(prediction_format_for("b.txt"), Error);
  EXPECT_THROW(parse_prediction_format("xls"), Error);
}

// A cell over Excel's 32,767 characters fails the write: the error names the file and the
// row, and neither the file nor its temporary is left.
TEST(PredictionWriter, FailedWriteLeavesNoFile) {
  const std::string dir = test::scratch_dir();
  auto rows = tricky_rows();
  rows[1].generated = std::string(40000, 'x');
  try {
    write_predictions(dir + "/p.xlsx", rows, PredictionFormat::xlsx);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p.xlsx:row 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            0);
  EXPECT_THROW(write_predictions(dir + "/no/such/folder/p.csv", rows, PredictionFormat::csv),
               Error);
}

}  // namespace
}  // namespace gavamoe
