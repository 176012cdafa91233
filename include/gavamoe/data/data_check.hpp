// Data check: what makes a split report numbers it has not earned.
//
// On one fold of a dataset: (user, item) pairs that occur twice, pairs present in two
// partitions, validation or test explanations that occur verbatim in training (overall and by
// the same user: a model can recite them), and ratings outside 1..5 or not integral. Each
// finding has a count and a few examples. A split "leaks" when a validation/test pair is in
// training, or a validation/test explanation was written verbatim by the same user in training
// (a copy by another user is reported, not counted as a leak: short sentences recur).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/data/dataset.hpp"

namespace gavamoe {

struct DataFinding {
  std::string what;                   // one line, e.g. "test records whose (user, item) ..."
  int64_t count = 0;                  // records concerned
  int64_t out_of = 0;                 // of how many
  bool leak = false;                  // makes the split's scores unreliable
  std::vector<std::string> examples;  // at most kDataCheckExamples
};

struct DataCheck {
  std::vector<DataFinding> findings;  // every check, also those that found nothing
  bool leaks() const;
  bool clean() const;  // no finding with a count
};

constexpr size_t kDataCheckExamples = 3;

DataCheck check_dataset(const Dataset& dataset);

// One log line per finding with a count: warnings for leaks, info otherwise. For commands that
// train or score on `dataset` (the check itself is `gavamoe data check`).
void warn_about_data(const Dataset& dataset, const DataCheck& check);
// The same for the check of the data at `path` (a sequence folder: rec/sequence_check.hpp).
void warn_about_data(const std::string& path, const DataCheck& check);

}  // namespace gavamoe
