// load_dataset: PEPLER folders, JSON lines and ratings folders into one Dataset.
#include "gavamoe/data/dataset.hpp"

#include <charconv>
#include <filesystem>
#include <sstream>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/data/jsonl.hpp"
#include "gavamoe/data/pickle.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPicklePath = "reviews.pickle";

const PickleValue& require_key(const PickleValue& dict, const char* key, const std::string& where) {
  const PickleValue* value = dict.get(key);
  if (!value) throw Error(where + ": missing key '" + key + "'");
  return *value;
}

std::string pickle_string(const PickleValue& value, const std::string& where) {
  if (value.kind == PickleValue::Kind::string) return value.text;
  if (value.kind == PickleValue::Kind::integer) return std::to_string(value.integer);
  throw Error(where + ": expected a str, got " + value.describe());
}

double pickle_number(const PickleValue& value, const std::string& where) {
  if (value.kind == PickleValue::Kind::integer) return static_cast<double>(value.integer);
  if (value.kind == PickleValue::Kind::real) return value.real;
  throw Error(where + ": expected a number, got " + value.describe());
}

// reviews.pickle: a list of {'user', 'item', 'rating', 'template': (feature, adjective,
// sentence, sentiment), ...}.
std::vector<Record> read_pepler_records(const std::string& path) {
  const PickleValue root = read_pickle_file(path);
  if (root.kind != PickleValue::Kind::list)
    throw file_error(path, "expected a list of records, got " + root.describe());
  std::vector<Record> records;
  records.reserve(root.items->size());
  for (size_t i = 0; i < root.items->size(); ++i) {
    const PickleValue& entry = (*root.items)[i];
    const std::string where = path + ": record " + std::to_string(i);
    if (entry.kind != PickleValue::Kind::dict)
      throw Error(where + ": expected a dict, got " + entry.describe());
    Record record;
    record.user = pickle_string(require_key(entry, "user", where), where + " 'user'");
    record.item = pickle_string(require_key(entry, "item", where), where + " 'item'");
    record.rating = pickle_number(require_key(entry, "rating", where), where + " 'rating'");
    if (const PickleValue* tmpl = entry.get("template")) {
      if (tmpl->kind != PickleValue::Kind::tuple && tmpl->kind != PickleValue::Kind::list)
        throw Error(where + ": 'template' must be a tuple, got " + tmpl->describe());
      const PickleList& parts = *tmpl->items;
      if (parts.size() < 4) throw Error(where + ": 'template' must have 4 entries");
      record.feature = pickle_string(parts[0], where + " template[0]");
      record.adjective = pickle_string(parts[1], where + " template[1]");
      record.explanation = pickle_string(parts[2], where + " template[2]");
      record.sentiment = static_cast<int>(pickle_number(parts[3], where + " template[3]"));
      record.has_text = true;
    }
    if (const PickleValue* title = entry.get("title");
        title && title->kind == PickleValue::Kind::string)
      record.title = title->text;
    records.push_back(std::move(record));
  }
  return records;
}

// One partition file of a ratings folder: "user<TAB>item<TAB>rating" per line.
void read_ratings_file(const std::string& path, std::vector<Record>& records) {
  const std::string text = read_file(path);
  std::istringstream lines(text);
  std::string line;
  int64_t line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<std::string> fields;
    std::istringstream split(line);
    for (std::string field; std::getline(split, field, '\t');) fields.push_back(field);
    if (fields.size() != 3)
      throw file_error(
          path, "line " + std::to_string(line_number),
          "expected 'user<TAB>item<TAB>rating', got " + std::to_string(fields.size()) + " fields");
    Record record;
    record.user = fields[0];
    record.item = fields[1];
    const std::string& rating = fields[2];
    const auto parsed =
        std::from_chars(rating.data(), rating.data() + rating.size(), record.rating);
    if (parsed.ec != std::errc() || parsed.ptr != rating.data() + rating.size())
      throw file_error(path, "line " + std::to_string(line_number),
                       "rating '" + rating + "' is not a number");
    records.push_back(std::move(record));
  }
}

// train/validation/test files with extension .tsv, .txt or none; "" when absent.
std::string find_partition_file(const fs::path& dir, Subset subset) {
  for (const char* extension : {".tsv", ".txt", ""}) {
    const fs::path candidate = dir / (std::string(subset_name(subset)) + extension);
    if (fs::is_regular_file(candidate)) return candidate.string();
  }
  return {};
}

bool is_ratings_folder(const fs::path& dir) {
  for (Subset subset : kSubsets)
    if (!find_partition_file(dir, subset).empty()) return true;
  return false;
}

void read_fold(Dataset& dataset, const fs::path& dir, int split) {
  const fs::path fold = dir / std::to_string(split);
  if (!fs::is_directory(fold))
    throw file_error(fold.string(), "split folder not found (--split " + std::to_string(split) +
                                        " needs " + std::to_string(split) + "/train.index ...)");
  const auto n = static_cast<int64_t>(dataset.records.size());
  for (Subset subset : kSubsets) {
    dataset.subsets[static_cast<int>(subset)] =
        read_index_file((fold / (std::string(subset_name(subset)) + ".index")).string(), n);
  }
}

void index_ids(Dataset& dataset) {
  dataset.user_of.reserve(dataset.records.size());
  dataset.item_of.reserve(dataset.records.size());
  dataset.has_text = !dataset.records.empty();
  for (const Record& record : dataset.records) {
    dataset.user_of.push_back(dataset.users.add(record.user));
    dataset.item_of.push_back(dataset.items.add(record.item));
    dataset.has_text = dataset.has_text && record.has_text;
  }
}

}  // namespace

const char* subset_name(Subset subset) {
  switch (subset) {
    case Subset::train:
      return "train";
    case Subset::validation:
      return "validation";
    case Subset::test:
      return "test";
  }
  return "?";
}

Subset parse_subset(const std::string& name) {
  for (Subset subset : kSubsets)
    if (name == subset_name(subset)) return subset;
  throw Error("--subset: unknown subset '" + name + "' (train, validation, test)");
}

int64_t Dataset::user_index(int64_t record) const {
  return user_of.at(static_cast<size_t>(record));
}
int64_t Dataset::item_index(int64_t record) const {
  return item_of.at(static_cast<size_t>(record));
}

void Dataset::require_text(const std::string& command) const {
  if (!has_text)
    throw file_error(path, command +
                               " needs explanation text, but this dataset has ratings only"
                               " (or some records lack an explanation)");
}

std::vector<int64_t> read_index_file(const std::string& path, int64_t n_records) {
  const std::string text = read_file(path);
  std::vector<int64_t> positions;
  const char* cursor = text.data();
  const char* end = text.data() + text.size();
  while (true) {
    while (cursor < end && std::isspace(static_cast<unsigned char>(*cursor))) ++cursor;
    if (cursor == end) break;
    int64_t position = 0;
    const auto parsed = std::from_chars(cursor, end, position);
    const std::string where = "byte " + std::to_string(cursor - text.data());
    if (parsed.ec != std::errc() ||
        (parsed.ptr < end && !std::isspace(static_cast<unsigned char>(*parsed.ptr))))
      throw file_error(path, where, "expected a record position (a non-negative integer)");
    if (position < 0 || position >= n_records)
      throw file_error(path, where,
                       "position " + std::to_string(position) + " is past the end of the " +
                           std::to_string(n_records) + " records");
    positions.push_back(position);
    cursor = parsed.ptr;
  }
  return positions;
}

Dataset load_dataset(const std::string& path, const LoadOptions& options) {
  Dataset dataset;
  dataset.path = path;
  const fs::path root(path);
  if (!fs::exists(root)) throw file_error(path, "no such file or folder");
  if (fs::is_directory(root)) {
    if (fs::is_regular_file(root / kPicklePath)) {
      dataset.format = DataFormat::pepler;
      dataset.records = read_pepler_records((root / kPicklePath).string());
      read_fold(dataset, root, options.split);
    } else if (fs::is_regular_file(root / kRecordsFileName)) {
      dataset.format = DataFormat::jsonl;
      const std::string records_path = (root / kRecordsFileName).string();
      dataset.records = parse_jsonl_records(read_file(records_path), records_path);
      if (fs::is_directory(root / std::to_string(options.split))) {
        read_fold(dataset, root, options.split);
      } else {
        dataset.subsets =
            shuffle_split(static_cast<int64_t>(dataset.records.size()), options.shuffle_seed);
      }
    } else if (is_ratings_folder(root)) {
      dataset.format = DataFormat::ratings;
      for (Subset subset : kSubsets) {
        const std::string file = find_partition_file(root, subset);
        if (file.empty()) continue;
        const auto first = static_cast<int64_t>(dataset.records.size());
        read_ratings_file(file, dataset.records);
        for (auto i = first; i < static_cast<int64_t>(dataset.records.size()); ++i)
          dataset.subsets[static_cast<int>(subset)].push_back(i);
      }
    } else {
      throw file_error(path,
                       "not a dataset folder: expected reviews.pickle, reviews.jsonl, or "
                       "train/validation/test rating files");
    }
  } else {
    dataset.format = DataFormat::jsonl;
    dataset.records = parse_jsonl_records(read_file(path), path);
    dataset.subsets =
        shuffle_split(static_cast<int64_t>(dataset.records.size()), options.shuffle_seed);
  }
  if (dataset.records.empty()) throw file_error(path, "the dataset has no records");
  index_ids(dataset);
  return dataset;
}

}  // namespace gavamoe
