// SequenceDataset: per user the time-ordered item list, item metadata and the id maps, in
// RecExplainer's folder format (what RecAI's preprocessing writes), so such folders work as is.
//
// A folder holds:
//   sequential_data.txt  one line per user, "uid iid1 iid2 ...", space-separated, oldest first;
//                        ids are positive integers; item id 0 is the padding id of the models
//   metadata.json        JSON lines; line k (0-based) describes item k+1: "title" (string),
//                        "feature" (list of strings; MovieLens: the genres), "description"
//                        (list of strings, or one string), "brand" (string); other keys are
//                        kept as they are and written back unchanged
//   datamaps.json        optional: {"user2id", "item2id", "id2user", "id2item"}, string ids
//   user_metadata.json   optional (gavamoe's addition): JSON lines, line k describes user k+1
// M = n_items() = metadata lines + 1 (ids 0..M-1); N + 1 = n_users() = max uid + 1.
//
// Reading checks everything once and names the file and line of the first problem: a token
// that is not a positive integer, a user without items, a uid given twice, an item without a
// metadata line, an id missing from datamaps.json, a metadata line beyond the items of
// datamaps.json, invalid JSON or a field of the wrong type.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gavamoe {

constexpr const char* kSequencesFile = "sequential_data.txt";
constexpr const char* kItemMetadataFile = "metadata.json";
constexpr const char* kDatamapsFile = "datamaps.json";
constexpr const char* kUserMetadataFile = "user_metadata.json";

struct ItemInfo {
  std::string title;                     // "" when the item has none
  std::vector<std::string> features;     // "feature"
  std::vector<std::string> description;  // "description" (a string reads as one entry)
  std::string brand;
  nlohmann::json metadata = nlohmann::json::object();  // the whole line, as read or written

  // Parses the known fields of one metadata line; errors name `where` ("metadata.json:line 3").
  static ItemInfo from_metadata(nlohmann::json metadata, const std::string& where);
};

struct SequenceDataset {
  std::string path;
  std::vector<int64_t> users;                   // uid of each sequence, in file order
  std::vector<std::vector<int64_t>> sequences;  // item ids of each user, oldest first
  std::vector<ItemInfo> items;                  // items[i - 1] describes item id i
  // External ids from datamaps.json, indexed by internal id (entry 0 unused); empty without it.
  std::vector<std::string> user_names;
  std::vector<std::string> item_names;
  std::vector<nlohmann::json> user_metadata;  // user_metadata[u - 1]; empty without the file

  int64_t n_items() const { return static_cast<int64_t>(items.size()) + 1; }
  int64_t n_users() const;
  // The title, else the external id, else "item <id>".
  std::string item_label(int64_t item) const;
  bool has_titles() const;  // every item has a title
};

// True when `path` is a folder with sequential_data.txt.
bool is_sequence_folder(const std::string& path);

SequenceDataset read_sequence_folder(const std::string& dir);

// Writes the folder whole or not at all (a temporary folder renamed into place); an existing
// non-empty folder is an error. Writes datamaps.json / user_metadata.json only when filled.
void write_sequence_folder(const std::string& dir, const SequenceDataset& data);

// Counts for `data stats` and the importers' logs (JSON object): users, items, interactions,
// sequence lengths, repeats, users whose last item already occurs earlier, metadata coverage,
// titles shared by several items (case and surrounding blanks ignored).
nlohmann::json sequence_stats(const SequenceDataset& data);

}  // namespace gavamoe
