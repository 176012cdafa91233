// RecExplainer's sequential folder format: reader, writer, statistics (sequence_dataset.hpp).
#include "gavamoe/rec/sequence_dataset.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/unique_titles.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string at_line(int64_t line) { return "line " + std::to_string(line); }

// The lines of a text file with their 1-based numbers; a trailing CR is dropped.
std::vector<std::pair<int64_t, std::string>> numbered_lines(const std::string& text) {
  std::vector<std::pair<int64_t, std::string>> lines;
  std::istringstream in(text);
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.emplace_back(number, line);
  }
  return lines;
}

bool blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c); });
}

// A positive decimal id; errors name the file and line.
int64_t parse_id(const std::string& token, const std::string& path, int64_t line) {
  bool ok =
      !token.empty() && token.size() <= 18 &&
      std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c); });
  const int64_t value = ok ? std::stoll(token) : 0;
  if (!ok || value < 1)
    throw file_error(path, at_line(line), "'" + token + "' is not a positive integer id");
  return value;
}

std::vector<std::string> string_list(const json& value, const char* key, const std::string& where) {
  std::vector<std::string> list;
  if (value.is_string()) {
    list.push_back(value.get<std::string>());
    return list;
  }
  if (!value.is_array()) throw Error(where + ": \"" + key + "\" must be a list of strings");
  for (const auto& entry : value) {
    if (!entry.is_string()) throw Error(where + ": \"" + key + "\" must be a list of strings");
    list.push_back(entry.get<std::string>());
  }
  return list;
}

// id2user / id2item of datamaps.json as a vector indexed by internal id.
std::vector<std::string> id_names(const json& maps, const char* key, const std::string& path) {
  const auto found = maps.find(key);
  if (found == maps.end() || !found->is_object())
    throw file_error(path, std::string("missing object \"") + key + "\"");
  std::vector<std::string> names;
  for (const auto& [id, name] : found->items()) {
    int64_t index = 0;
    try {
      size_t used = 0;
      index = std::stoll(id, &used);
      if (used != id.size() || index < 1) throw std::invalid_argument(id);
    } catch (const std::exception&) {
      throw file_error(path, std::string(key) + ": '" + id + "' is not a positive integer id");
    }
    if (!name.is_string())
      throw file_error(path, std::string(key) + ": the name of id " + id + " is not a string");
    if (index > 50'000'000)
      throw file_error(path, std::string(key) + ": id " + id + " is too large");
    if (static_cast<int64_t>(names.size()) <= index) names.resize(index + 1);
    names[index] = name.get<std::string>();
  }
  return names;
}

json name_to_id_map(const std::vector<std::string>& names) {
  json map = json::object();
  for (size_t id = 1; id < names.size(); ++id)
    if (!names[id].empty()) map[names[id]] = std::to_string(id);
  return map;
}

json id_to_name_map(const std::vector<std::string>& names) {
  json map = json::object();
  for (size_t id = 1; id < names.size(); ++id)
    if (!names[id].empty()) map[std::to_string(id)] = names[id];
  return map;
}

std::vector<json> read_json_lines(const std::string& path) {
  std::vector<json> lines;
  for (const auto& [number, line] : numbered_lines(read_file(path))) {
    if (blank(line))
      throw file_error(path, at_line(number), "blank line (line k describes id k+1)");
    json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) throw file_error(path, at_line(number), "invalid JSON");
    if (!value.is_object()) throw file_error(path, at_line(number), "not a JSON object");
    lines.push_back(std::move(value));
  }
  return lines;
}

}  // namespace

ItemInfo ItemInfo::from_metadata(json metadata, const std::string& where) {
  if (!metadata.is_object()) throw Error(where + ": not a JSON object");
  ItemInfo info;
  if (const auto title = metadata.find("title"); title != metadata.end()) {
    if (!title->is_string()) throw Error(where + ": \"title\" must be a string");
    info.title = title->get<std::string>();
  }
  if (const auto brand = metadata.find("brand"); brand != metadata.end()) {
    if (!brand->is_string()) throw Error(where + ": \"brand\" must be a string");
    info.brand = brand->get<std::string>();
  }
  if (const auto features = metadata.find("feature"); features != metadata.end())
    info.features = string_list(*features, "feature", where);
  if (const auto description = metadata.find("description"); description != metadata.end())
    info.description = string_list(*description, "description", where);
  info.metadata = std::move(metadata);
  return info;
}

int64_t SequenceDataset::n_users() const {
  int64_t most = 0;
  for (int64_t uid : users) most = std::max(most, uid);
  return most + 1;
}

std::string SequenceDataset::item_label(int64_t item) const {
  if (item >= 1 && item < n_items() && !items[item - 1].title.empty()) return items[item - 1].title;
  if (item >= 1 && item < static_cast<int64_t>(item_names.size()) && !item_names[item].empty())
    return item_names[item];
  return "item " + std::to_string(item);
}

bool SequenceDataset::has_titles() const {
  return !items.empty() && std::all_of(items.begin(), items.end(),
                                       [](const ItemInfo& i) { return !i.title.empty(); });
}

bool is_sequence_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / kSequencesFile, ec);
}

SequenceDataset read_sequence_folder(const std::string& dir) {
  const fs::path root(dir);
  const std::string sequences_path = (root / kSequencesFile).string();
  const std::string metadata_path = (root / kItemMetadataFile).string();
  const std::string maps_path = (root / kDatamapsFile).string();
  const std::string users_path = (root / kUserMetadataFile).string();
  if (!fs::is_directory(root)) throw file_error(dir, "no such folder");
  if (!fs::exists(sequences_path)) throw file_error(dir, std::string("no ") + kSequencesFile);
  if (!fs::exists(metadata_path)) throw file_error(dir, std::string("no ") + kItemMetadataFile);

  SequenceDataset data;
  data.path = dir;
  const bool has_maps = fs::exists(maps_path);
  if (has_maps) {
    const json maps = [&] {
      json parsed = json::parse(read_file(maps_path), nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded() || !parsed.is_object())
        throw file_error(maps_path, "not a JSON object");
      return parsed;
    }();
    data.user_names = id_names(maps, "id2user", maps_path);
    data.item_names = id_names(maps, "id2item", maps_path);
  }

  const std::vector<json> metadata = read_json_lines(metadata_path);
  for (size_t k = 0; k < metadata.size(); ++k) {
    const auto item = static_cast<int64_t>(k + 1);
    const std::string where = metadata_path + ":" + at_line(item);
    if (has_maps &&
        (item >= static_cast<int64_t>(data.item_names.size()) || data.item_names[item].empty()))
      throw Error(where + ": describes item " + std::to_string(item) +
                  ", which datamaps.json (id2item) does not have: line k is item k+1");
    data.items.push_back(ItemInfo::from_metadata(metadata[k], where));
  }

  std::unordered_map<int64_t, int64_t> first_line;
  for (const auto& [number, line] : numbered_lines(read_file(sequences_path))) {
    if (blank(line)) continue;
    std::istringstream tokens(line);
    std::string token;
    tokens >> token;
    const int64_t uid = parse_id(token, sequences_path, number);
    if (const auto seen = first_line.find(uid); seen != first_line.end())
      throw file_error(sequences_path, at_line(number),
                       "user " + std::to_string(uid) + " appears again (first on line " +
                           std::to_string(seen->second) + ")");
    first_line[uid] = number;
    if (has_maps &&
        (uid >= static_cast<int64_t>(data.user_names.size()) || data.user_names[uid].empty()))
      throw file_error(sequences_path, at_line(number),
                       "user " + std::to_string(uid) + " is not in datamaps.json (id2user)");
    std::vector<int64_t> items;
    while (tokens >> token) {
      const int64_t item = parse_id(token, sequences_path, number);
      if (item >= data.n_items())
        throw file_error(sequences_path, at_line(number),
                         "item " + std::to_string(item) + " has no metadata line (" +
                             kItemMetadataFile + " has " + std::to_string(data.items.size()) +
                             " lines; line k is item k+1)");
      items.push_back(item);
    }
    if (items.empty())
      throw file_error(sequences_path, at_line(number),
                       "user " + std::to_string(uid) + " has no items");
    data.users.push_back(uid);
    data.sequences.push_back(std::move(items));
  }
  if (data.users.empty()) throw file_error(sequences_path, "no user sequences");

  if (fs::exists(users_path)) {
    data.user_metadata = read_json_lines(users_path);
    const auto n = static_cast<int64_t>(data.user_metadata.size());
    for (size_t k = 0; k < data.users.size(); ++k)
      if (data.users[k] > n)
        throw file_error(users_path, "has " + std::to_string(n) + " lines, but user " +
                                         std::to_string(data.users[k]) + " needs line " +
                                         std::to_string(data.users[k]));
  }
  return data;
}

void write_sequence_folder(const std::string& dir, const SequenceDataset& data) {
  write_folder_atomic(dir, [&](const fs::path& temp_dir) {
    std::ostringstream sequences;
    for (size_t u = 0; u < data.users.size(); ++u) {
      sequences << data.users[u];
      for (int64_t item : data.sequences[u]) sequences << ' ' << item;
      sequences << '\n';
    }
    write_file_atomic((temp_dir / kSequencesFile).string(), sequences.str());
    std::ostringstream metadata;
    for (const ItemInfo& item : data.items) metadata << item.metadata.dump() << '\n';
    write_file_atomic((temp_dir / kItemMetadataFile).string(), metadata.str());
    if (!data.item_names.empty() || !data.user_names.empty()) {
      const json maps = {{"user2id", name_to_id_map(data.user_names)},
                         {"item2id", name_to_id_map(data.item_names)},
                         {"id2user", id_to_name_map(data.user_names)},
                         {"id2item", id_to_name_map(data.item_names)}};
      write_file_atomic((temp_dir / kDatamapsFile).string(), maps.dump());
    }
    if (!data.user_metadata.empty()) {
      std::ostringstream users;
      for (const json& user : data.user_metadata) users << user.dump() << '\n';
      write_file_atomic((temp_dir / kUserMetadataFile).string(), users.str());
    }
  });
}

json sequence_stats(const SequenceDataset& data) {
  std::vector<int64_t> lengths;
  int64_t interactions = 0, repeated_consecutive = 0, repeated_items = 0, last_in_history = 0;
  int64_t single_item_users = 0;
  std::vector<char> seen_item(data.n_items(), 0);
  for (const auto& sequence : data.sequences) {
    const auto n = static_cast<int64_t>(sequence.size());
    lengths.push_back(n);
    interactions += n;
    if (n == 1) ++single_item_users;
    std::set<int64_t> distinct;
    for (int64_t k = 0; k < n; ++k) {
      seen_item[sequence[k]] = 1;
      if (k > 0 && sequence[k] == sequence[k - 1]) ++repeated_consecutive;
      if (!distinct.insert(sequence[k]).second) ++repeated_items;
    }
    if (std::find(sequence.begin(), sequence.end() - 1, sequence.back()) != sequence.end() - 1)
      ++last_in_history;
  }
  std::sort(lengths.begin(), lengths.end());
  int64_t with_title = 0, with_features = 0, with_description = 0, with_brand = 0;
  std::map<std::string, int64_t> title_count;
  for (const ItemInfo& item : data.items) {
    with_title += !item.title.empty();
    with_features += !item.features.empty();
    with_description += !item.description.empty();
    with_brand += !item.brand.empty();
    if (!item.title.empty()) ++title_count[title_key(item.title)];
  }
  int64_t shared_titles = 0;
  for (const auto& [key, count] : title_count) shared_titles += count > 1 ? count : 0;
  const int64_t items_used = std::count(seen_item.begin(), seen_item.end(), 1);
  return {{"path", data.path},
          {"users", data.users.size()},
          {"items", data.items.size()},
          {"items_with_interactions", items_used},
          {"interactions", interactions},
          {"sequence_length",
           {{"min", lengths.front()},
            {"median", lengths[lengths.size() / 2]},
            {"mean", static_cast<double>(interactions) / static_cast<double>(lengths.size())},
            {"max", lengths.back()}}},
          {"single_item_users", single_item_users},
          {"repeated_consecutive_items", repeated_consecutive},
          {"repeated_items", repeated_items},
          {"last_item_already_in_history", last_in_history},
          {"items_with_title", with_title},
          {"items_with_features", with_features},
          {"items_with_description", with_description},
          {"items_with_brand", with_brand},
          {"items_sharing_a_title", shared_titles},
          {"has_datamaps", !data.item_names.empty()},
          {"has_user_metadata", !data.user_metadata.empty()}};
}

}  // namespace gavamoe
