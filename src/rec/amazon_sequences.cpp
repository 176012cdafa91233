// Amazon reviews to sequences (amazon_sequences.hpp).
#include "gavamoe/rec/amazon_sequences.hpp"

#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/strings.hpp"
#include "gavamoe/data/amazon_import.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// Each non-blank line as a JSON object, with its 1-based number.
template <typename Visit>
void for_each_json_line(const std::string& path, Visit visit) {
  std::istringstream in(read_maybe_gzipped(path));
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_object())
      throw file_error(path, "line " + std::to_string(number),
                       "not a JSON object (the 2014 metadata files are Python literals: convert "
                       "them to JSON lines first)");
    visit(number, value);
  }
}

// Python's str.strip(' \t\n!.,;?/:').
std::string strip_marks(const std::string& text) {
  const char* marks = " \t\n!.,;?/:";
  const size_t begin = text.find_first_not_of(marks);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(marks) - begin + 1);
}

// The clean-up of Amazon_meta and metadata_filter on one metadata line.
json clean_metadata(json meta) {
  for (const char* key : {"related", "imUrl", "imageURL", "imageURLHighRes"}) meta.erase(key);
  if (meta.contains("title") && meta["title"].is_string())
    meta["title"] = strip_marks(replace_all(meta["title"].get<std::string>(), "\n\t", " "));
  auto clean_list = [&meta](const char* key, bool tabs) {
    if (!meta.contains(key)) return;
    json& value = meta[key];
    if (value.is_string()) {
      std::string text = value.get<std::string>();
      if (tabs) text = replace_all(text, "\n\t", " ");
      value = strip_marks(text);
      return;
    }
    if (!value.is_array()) return;
    json kept = json::array();
    for (const auto& entry : value) {
      if (!entry.is_string()) continue;
      std::string text = entry.get<std::string>();
      if (tabs) text = replace_all(text, "\n\t", " ");
      text = strip_marks(text);
      if (!text.empty()) kept.push_back(text);
    }
    value = kept;
  };
  clean_list("feature", false);
  clean_list("description", true);
  if (meta.contains("brand") && meta["brand"].is_string())
    meta["brand"] = replace_all(meta["brand"].get<std::string>(), "\n    \n    ", " ");
  return meta;
}

std::string string_field(const json& value, const char* key, const std::string& path,
                         int64_t line) {
  const auto found = value.find(key);
  if (found == value.end() || !found->is_string() || found->get<std::string>().empty())
    throw file_error(path, "line " + std::to_string(line),
                     std::string("missing string field \"") + key + "\"");
  return found->get<std::string>();
}

}  // namespace

SequenceDataset import_amazon_sequences(const std::string& reviews_path,
                                        const std::string& meta_path,
                                        const SequenceBuildOptions& options,
                                        AmazonSequenceReport* report_out) {
  AmazonSequenceReport report;
  std::vector<CatalogueItem> catalogue;
  std::unordered_set<std::string> titled;
  if (!meta_path.empty()) {
    std::unordered_set<std::string> listed;
    for_each_json_line(meta_path, [&](int64_t line, json& meta) {
      ++report.metadata_lines;
      const std::string asin = string_field(meta, "asin", meta_path, line);
      if (!listed.insert(asin).second) return;  // the first line of an item counts
      const auto title = meta.find("title");
      if (title == meta.end() || !title->is_string() || title->get<std::string>().empty()) return;
      titled.insert(asin);
      catalogue.push_back({asin, clean_metadata(std::move(meta))});
    });
  }
  std::vector<Interaction> interactions;
  std::unordered_map<std::string, size_t> unlisted;  // without metadata: first appearance
  for_each_json_line(reviews_path, [&](int64_t line, const json& review) {
    ++report.reviews;
    const std::string user = string_field(review, "reviewerID", reviews_path, line);
    const std::string item = string_field(review, "asin", reviews_path, line);
    const auto time = review.find("unixReviewTime");
    if (time == review.end() || !time->is_number_integer())
      throw file_error(reviews_path, "line " + std::to_string(line),
                       "missing integer field \"unixReviewTime\"");
    if (!meta_path.empty() && !titled.count(item)) {
      ++report.reviews_without_title;
      return;
    }
    if (meta_path.empty() && unlisted.emplace(item, catalogue.size()).second)
      catalogue.push_back({item, json{{"asin", item}}});
    interactions.push_back({user, item, time->get<int64_t>()});
  });
  if (interactions.empty())
    throw file_error(reviews_path, meta_path.empty()
                                       ? "no reviews"
                                       : "no review of an item with a title in " + meta_path);
  SequenceDataset data = build_sequence_dataset(interactions, catalogue, options, &report.build);
  data.path = reviews_path;
  if (report_out) *report_out = report;
  return data;
}

}  // namespace gavamoe
