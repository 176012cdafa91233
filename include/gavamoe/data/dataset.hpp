// Dataset: records, id maps and the train/validation/test partition of one fold.
//
// load_dataset() reads every supported layout of `--data PATH`:
//   1. a PEPLER folder: reviews.pickle + N/{train,validation,test}.index (fold N = --split);
//   2. JSON lines (keys user, item, rating, feature, adjective, explanation, sentiment, title;
//      the PETER spelling label/review is read too), either a folder holding reviews.jsonl and
//      N/*.index files, or a single .jsonl file split 8:1:1 by a seeded shuffle;
//   3. a ratings folder of tab-separated "user item rating" files named after their partition
//      (train, validation, test; .tsv or .txt or no extension).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/data/record.hpp"

namespace gavamoe {

enum class Subset { train = 0, validation = 1, test = 2 };
constexpr std::array<Subset, 3> kSubsets = {Subset::train, Subset::validation, Subset::test};
const char* subset_name(Subset subset);
// "train" | "validation" | "test"; anything else is an error naming the option.
Subset parse_subset(const std::string& name);

enum class DataFormat { pepler, jsonl, ratings };

struct Dataset {
  std::string path;
  DataFormat format = DataFormat::jsonl;
  std::vector<Record> records;
  IdMap users;
  IdMap items;
  // Record positions of each subset, indexed by Subset.
  std::array<std::vector<int64_t>, 3> subsets;
  bool has_text = false;  // every record carries an explanation

  const std::vector<int64_t>& subset(Subset s) const { return subsets[static_cast<int>(s)]; }
  int64_t user_index(int64_t record) const;
  int64_t item_index(int64_t record) const;
  // Throws a clear error (naming the dataset) when a command needs text and there is none.
  void require_text(const std::string& command) const;

  // Filled by load_dataset: dense ids per record, same order as records.
  std::vector<int64_t> user_of;
  std::vector<int64_t> item_of;
};

struct LoadOptions {
  int split = 1;              // fold folder 1..5 for index-file layouts
  uint64_t shuffle_seed = 1;  // 8:1:1 shuffle of a bare .jsonl file
};

Dataset load_dataset(const std::string& path, const LoadOptions& options = {});

// Reads "0 4 17 ..." index files; each position must be < n_records.
std::vector<int64_t> read_index_file(const std::string& path, int64_t n_records);

}  // namespace gavamoe
