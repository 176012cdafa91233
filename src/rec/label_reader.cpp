// Reading the label files back (labels.hpp): train_top.txt / test_top.txt rows and sim_item.txt.
#include <fstream>
#include <sstream>

#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/labels.hpp"

namespace gavamoe {
namespace {

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, separator)) fields.push_back(field);
  if (!line.empty() && line.back() == separator) fields.emplace_back();
  return fields;
}

// A whole decimal field as an id in 1..n_items-1 (any positive id when n_items is 0).
int64_t parse_id(const std::string& text, int64_t n_items, const std::string& where) {
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < 1 || (n_items > 0 && value >= n_items))
    throw Error(where + ": '" + text + "' is not an item or user id" +
                (n_items > 0 ? " (1.." + std::to_string(n_items - 1) + ")" : ""));
  return value;
}

float parse_score(const std::string& text, const std::string& where) {
  size_t used = 0;
  float value = 0;
  try {
    value = std::stof(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw Error(where + ": '" + text + "' is not a score");
  return value;
}

std::ifstream open_labels(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw file_error(path, "cannot read (write it with `gavamoe rec label`)");
  return in;
}

}  // namespace

std::vector<LabelRow> read_label_file(const std::string& path, int64_t n_items) {
  std::ifstream in = open_labels(path);
  std::vector<LabelRow> rows;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(number);
    const auto fields = split(line, '\t');
    if (fields.size() != 8)
      throw Error(where + ": " + std::to_string(fields.size()) +
                  " tab-separated fields, expected 8 (uid iid top1 t1,...,t5 pos neg pos_score "
                  "neg_score)");
    LabelRow row;
    row.uid = parse_id(fields[0], 0, where);
    row.iid = parse_id(fields[1], n_items, where);
    row.top1 = parse_id(fields[2], n_items, where);
    const auto topk = split(fields[3], ',');
    if (topk.size() != row.topk.size())
      throw Error(where + ": " + std::to_string(topk.size()) + " ranked items, expected 5");
    for (size_t k = 0; k < topk.size(); ++k) row.topk[k] = parse_id(topk[k], n_items, where);
    row.pos = parse_id(fields[4], n_items, where);
    row.neg = parse_id(fields[5], n_items, where);
    row.pos_score = parse_score(fields[6], where);
    row.neg_score = parse_score(fields[7], where);
    rows.push_back(row);
  }
  return rows;
}

std::vector<int64_t> read_similar_items(const std::string& path, int64_t n_items) {
  std::ifstream in = open_labels(path);
  std::vector<int64_t> similar(static_cast<size_t>(n_items), 0);
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(number);
    const auto fields = split(line, '\t');
    if (fields.size() != 2) throw Error(where + ": expected 'item<TAB>similar item'");
    similar[parse_id(fields[0], n_items, where)] = parse_id(fields[1], n_items, where);
  }
  return similar;
}

}  // namespace gavamoe
