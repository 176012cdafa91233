// JSON-lines records: the project's own folder format and the PETER/PEPLER spelling.
//
// One object per line: user, item, rating, feature, adjective, explanation, sentiment, title
// (PETER spelling: label for rating, review for explanation). Ids may be strings or integers.
// A dataset folder holds reviews.jsonl and fold folders 1..5 with train/validation/test.index.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "gavamoe/data/dataset.hpp"

namespace gavamoe {

constexpr const char* kRecordsFileName = "reviews.jsonl";
constexpr int kFolds = 5;

// Parses JSON-lines text; errors name `name` and the line number. Blank lines are skipped.
std::vector<Record> parse_jsonl_records(const std::string& text, const std::string& name);
std::string record_to_json_line(const Record& record);

// Writes a dataset folder: reviews.jsonl plus kFolds seeded 8:1:1 folds (fold f uses seed+f),
// plus `extra_files` (name -> content, e.g. truth.jsonl). Written to a temporary folder and
// renamed, so a failed run leaves nothing behind; an existing non-empty folder is an error.
void write_dataset_folder(const std::string& dir, const std::vector<Record>& records, uint64_t seed,
                          const std::map<std::string, std::string>& extra_files = {});

// The seeded 8:1:1 partition of n records (train, validation, test positions, each sorted).
std::array<std::vector<int64_t>, 3> shuffle_split(int64_t n, uint64_t seed);

}  // namespace gavamoe
