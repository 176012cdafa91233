// MovieLens-100k import (movielens_import.hpp).
#include "gavamoe/rec/movielens_import.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <unordered_set>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/strings.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// u.genre of ml-100k, flag order.
constexpr std::array<const char*, 19> kGenres = {
    "unknown",     "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery",
    "Romance",     "Sci-Fi", "Thriller",  "War",       "Western"};

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, separator)) fields.push_back(field);
  if (!line.empty() && line.back() == separator) fields.push_back("");
  return fields;
}

bool is_integer(const std::string& text) {
  return !text.empty() && text.size() <= 18 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Lines of a file with 1-based numbers, CR dropped, blank lines skipped.
std::vector<std::pair<int64_t, std::string>> file_lines(const std::string& path) {
  std::vector<std::pair<int64_t, std::string>> lines;
  std::istringstream in(read_file(path));
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!strip_ascii_space(line).empty()) lines.emplace_back(number, line);
  }
  return lines;
}

std::vector<CatalogueItem> read_items(const std::string& path) {
  std::vector<CatalogueItem> items;
  std::unordered_set<std::string> seen;
  for (const auto& [number, raw] : file_lines(path)) {
    const std::string line = latin1_to_utf8(raw);
    const auto fields = split(line, '|');
    const std::string where = "line " + std::to_string(number);
    if (fields.size() != 5 + kGenres.size())
      throw file_error(path, where,
                       "expected 24 '|'-separated fields (id, title, release date, video date, "
                       "URL, 19 genre flags), got " +
                           std::to_string(fields.size()));
    if (!is_integer(fields[0])) throw file_error(path, where, "movie id '" + fields[0] + "'");
    if (!seen.insert(fields[0]).second)
      throw file_error(path, where, "movie " + fields[0] + " is listed twice");
    json metadata = {{"movie_id", fields[0]}};
    const std::string title = strip_ascii_space(fields[1]);
    if (title.empty()) throw file_error(path, where, "movie " + fields[0] + " has no title");
    metadata["title"] = title;
    json genres = json::array();
    for (size_t g = 0; g < kGenres.size(); ++g) {
      const std::string& flag = fields[5 + g];
      if (flag != "0" && flag != "1")
        throw file_error(
            path, where,
            std::string("genre flag ") + kGenres[g] + " is '" + flag + "', not 0 or 1");
      if (flag == "1" && g > 0) genres.push_back(kGenres[g]);
    }
    metadata["feature"] = genres;
    if (!strip_ascii_space(fields[2]).empty())
      metadata["release_date"] = strip_ascii_space(fields[2]);
    if (!strip_ascii_space(fields[4]).empty()) metadata["imdb_url"] = strip_ascii_space(fields[4]);
    items.push_back({fields[0], std::move(metadata)});
  }
  return items;
}

// `users` empty: any user id.
std::vector<Interaction> read_ratings(const std::string& path,
                                      const std::unordered_set<std::string>& movies,
                                      const std::unordered_set<std::string>& users) {
  std::vector<Interaction> interactions;
  for (const auto& [number, line] : file_lines(path)) {
    std::istringstream in(line);
    std::vector<std::string> fields;
    for (std::string field; in >> field;) fields.push_back(field);
    const std::string where = "line " + std::to_string(number);
    if (fields.size() != 4)
      throw file_error(path, where,
                       "expected 4 tab-separated fields (user, item, rating, time), "
                       "got " +
                           std::to_string(fields.size()));
    if (!is_integer(fields[0])) throw file_error(path, where, "user id '" + fields[0] + "'");
    if (!is_integer(fields[3])) throw file_error(path, where, "time '" + fields[3] + "'");
    if (!movies.count(fields[1]))
      throw file_error(path, where, "movie " + fields[1] + " is not in u.item");
    if (!users.empty() && !users.count(fields[0]))
      throw file_error(path, where, "user " + fields[0] + " is not in u.user");
    interactions.push_back({fields[0], fields[1], std::stoll(fields[3])});
  }
  if (interactions.empty()) throw file_error(path, "no ratings");
  return interactions;
}

std::vector<std::pair<std::string, json>> read_users(const std::string& path) {
  std::vector<std::pair<std::string, json>> users;
  for (const auto& [number, raw] : file_lines(path)) {
    const auto fields = split(latin1_to_utf8(raw), '|');
    const std::string where = "line " + std::to_string(number);
    if (fields.size() != 5)
      throw file_error(path, where,
                       "expected 5 '|'-separated fields (id, age, gender, "
                       "occupation, zip), got " +
                           std::to_string(fields.size()));
    if (!is_integer(fields[0]) || !is_integer(fields[1]))
      throw file_error(path, where, "user id and age must be integers");
    users.emplace_back(fields[0], json{{"user_id", fields[0]},
                                       {"age", std::stoll(fields[1])},
                                       {"gender", fields[2]},
                                       {"occupation", fields[3]},
                                       {"zip", fields[4]}});
  }
  return users;
}

}  // namespace

std::string latin1_to_utf8(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

SequenceDataset import_movielens(const std::string& dir, const SequenceBuildOptions& options,
                                 SequenceBuildReport* report) {
  const fs::path root(dir);
  for (const char* name : {"u.data", "u.item"})
    if (!fs::exists(root / name))
      throw file_error(dir, std::string("not a MovieLens-100k folder (no ") + name + ")");
  const std::vector<CatalogueItem> items = read_items((root / "u.item").string());
  std::unordered_set<std::string> movies;
  for (const auto& item : items) movies.insert(item.id);
  std::vector<std::pair<std::string, json>> users;
  std::unordered_set<std::string> known_users;
  if (fs::exists(root / "u.user")) {
    users = read_users((root / "u.user").string());
    for (const auto& [id, line] : users) known_users.insert(id);
  }
  const std::vector<Interaction> interactions =
      read_ratings((root / "u.data").string(), movies, known_users);
  SequenceDataset data = build_sequence_dataset(interactions, items, options, report, users);
  data.path = dir;
  return data;
}

}  // namespace gavamoe
