// A synthetic explanation dataset with planted structure, for the quick start and for tests.
//
// Users belong to K hidden groups. Each group has a preference vector over latent item
// vectors (ratings = 3 + scale * affinity + user bias + noise, rounded and clipped to 1..5,
// items picked in proportion to exp(affinity)), its own preferred product features, its own
// positive and negative adjectives, intensifiers and sentence templates. The sentiment is +1
// when the rating is >= 3, else -1, and the adjective has that polarity. Everything is drawn
// from one std::mt19937_64 through the project's own uniform and normal mappings, so the same
// options give the same records on every platform.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/data/record.hpp"

namespace gavamoe {

struct SynthOptions {
  int users = 300;
  int items = 200;
  int clusters = 4;
  int records = 3000;
  uint64_t seed = 1;
};

struct SynthDataset {
  std::vector<Record> records;
  // Group of each user that appears, in order of first appearance ("u0001" -> 2).
  std::vector<std::pair<std::string, int>> user_groups;
};

// Validates the options (clear error naming the option) and draws the dataset.
SynthDataset make_synthetic_dataset(const SynthOptions& options);

// truth.jsonl: {"user": id, "group": g} per line, in user first-appearance order.
std::string user_groups_jsonl(const SynthDataset& dataset);

// Writes the dataset folder (reviews.jsonl, 5 folds) plus truth.jsonl; all or nothing.
void write_synthetic_dataset(const std::string& dir, const SynthDataset& dataset, uint64_t seed);

}  // namespace gavamoe
