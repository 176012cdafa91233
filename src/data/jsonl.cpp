// JSON-lines records (both spellings), dataset folders and the seeded 8:1:1 split.
#include "gavamoe/data/jsonl.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// Ids may be written as strings or integers; both become strings.
std::string read_id(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) throw Error(where + ": missing key '" + key + "'");
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  throw Error(where + ": key '" + key + "' must be a string or an integer");
}

// The first of `keys` present, as a string; "" when none is.
std::string read_text(const json& object, std::initializer_list<const char*> keys,
                      const std::string& where, bool* found) {
  for (const char* key : keys) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) continue;
    if (!it->is_string()) throw Error(where + ": key '" + key + "' must be a string");
    *found = true;
    return it->get<std::string>();
  }
  return {};
}

Record parse_record(const json& object, const std::string& where) {
  if (!object.is_object()) throw Error(where + ": expected a JSON object");
  Record record;
  record.user = read_id(object, "user", where);
  record.item = read_id(object, "item", where);
  const json* rating = nullptr;
  for (const char* key : {"rating", "label"}) {
    if (object.contains(key)) rating = &object.at(key);
  }
  if (!rating) throw Error(where + ": missing key 'rating' (or 'label')");
  if (!rating->is_number()) throw Error(where + ": 'rating' must be a number");
  record.rating = rating->get<double>();
  bool has_explanation = false, unused = false;
  record.explanation = read_text(object, {"explanation", "review"}, where, &has_explanation);
  record.feature = read_text(object, {"feature"}, where, &unused);
  record.adjective = read_text(object, {"adjective"}, where, &unused);
  record.title = read_text(object, {"title"}, where, &unused);
  record.has_text = has_explanation;
  if (auto it = object.find("sentiment"); it != object.end() && !it->is_null()) {
    if (!it->is_number_integer()) throw Error(where + ": 'sentiment' must be an integer");
    record.sentiment = it->get<int>();
  } else if (record.has_text) {
    record.sentiment = record.rating >= 3 ? 1 : -1;
  }
  return record;
}

// Unbiased integer in [0, bound) from the generator; std distributions vary by library.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t draw;
  do draw = rng();
  while (draw >= limit);
  return draw % bound;
}

}  // namespace

std::vector<Record> parse_jsonl_records(const std::string& text, const std::string& name) {
  std::vector<Record> records;
  size_t start = 0;
  int64_t line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = name + ":line " + std::to_string(line_number);
    json object;
    try {
      object = json::parse(line);
    } catch (const json::parse_error& e) {
      throw Error(where + ": invalid JSON at column " + std::to_string(e.byte));
    } catch (const json::exception&) {  // e.g. a number too large for a double
      throw Error(where + ": invalid JSON (a number is out of range)");
    }
    records.push_back(parse_record(object, where));
  }
  return records;
}

std::string record_to_json_line(const Record& record) {
  json object = {{"user", record.user}, {"item", record.item}, {"rating", record.rating}};
  if (record.has_text) {
    object["feature"] = record.feature;
    object["adjective"] = record.adjective;
    object["explanation"] = record.explanation;
    object["sentiment"] = record.sentiment;
    if (!record.title.empty()) object["title"] = record.title;
  }
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::array<std::vector<int64_t>, 3> shuffle_split(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)],
              order[uniform_below(rng, static_cast<uint64_t>(i) + 1)]);
  const int64_t n_train = n * 8 / 10;
  const int64_t n_validation = n / 10;
  std::array<std::vector<int64_t>, 3> parts;
  parts[0].assign(order.begin(), order.begin() + n_train);
  parts[1].assign(order.begin() + n_train, order.begin() + n_train + n_validation);
  parts[2].assign(order.begin() + n_train + n_validation, order.end());
  for (auto& part : parts) std::sort(part.begin(), part.end());
  return parts;
}

void write_dataset_folder(const std::string& dir, const std::vector<Record>& records, uint64_t seed,
                          const std::map<std::string, std::string>& extra_files) {
  namespace fs = std::filesystem;
  write_folder_atomic(dir, [&](const fs::path& temp_dir) {
    std::ostringstream lines;
    for (const Record& record : records) lines << record_to_json_line(record) << '\n';
    write_file_atomic((temp_dir / kRecordsFileName).string(), lines.str());
    for (int fold = 1; fold <= kFolds; ++fold) {
      const fs::path fold_dir = temp_dir / std::to_string(fold);
      make_dirs(fold_dir.string());
      const auto parts = shuffle_split(static_cast<int64_t>(records.size()), seed + fold);
      for (Subset subset : kSubsets) {
        std::ostringstream index;
        const auto& positions = parts[static_cast<int>(subset)];
        for (size_t i = 0; i < positions.size(); ++i) index << (i ? " " : "") << positions[i];
        index << '\n';
        write_file_atomic((fold_dir / (std::string(subset_name(subset)) + ".index")).string(),
                          index.str());
      }
    }
    for (const auto& [name, content] : extra_files)
      write_file_atomic((temp_dir / name).string(), content);
  });
}

}  // namespace gavamoe
