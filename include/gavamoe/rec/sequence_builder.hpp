// From raw interactions to a SequenceDataset, the steps of RecAI's data_preprocess_amazon.py
// shared by the MovieLens and Amazon importers.
//
//   1. one record per (user, item): the earliest (by time; equal times: the first in the input);
//      the dropped repeats are counted
//   2. each user's items sorted by time, stably (equal times keep the input order)
//   3. iterative k-core (filter_Kcore): a pass removes every user with fewer than min_count
//      items and, from the others, every item with fewer than min_count users, until none fails
//      (min_count <= 1: no filter)
//   4. id_map: the users, in order of first appearance, are shuffled with the seed and numbered
//      1..N in that order; items are numbered 1..M-1 by first appearance walking those users
//   5. the surviving items' titles are made unique in catalogue order (unique_titles.hpp)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

struct Interaction {
  std::string user;
  std::string item;
  int64_t time = 0;
};

// One item of the source catalogue: its external id and its metadata.json line.
struct CatalogueItem {
  std::string id;
  nlohmann::json metadata = nlohmann::json::object();
};

struct SequenceBuildOptions {
  int64_t min_count = 5;  // k of the k-core
  uint64_t seed = 1;      // user shuffle of id_map
};

struct SequenceBuildReport {
  int64_t interactions_read = 0;
  int64_t repeats_dropped = 0;  // further records of a (user, item) pair
  int64_t core_passes = 0;
  int64_t users_removed = 0;
  int64_t items_removed = 0;
  int64_t interactions_kept = 0;
  int64_t titles_renamed = 0;
};

// `catalogue` must hold every item of `interactions` (an Error names the first that is
// missing); `user_metadata`, when not empty, maps each user's external id to its line.
SequenceDataset build_sequence_dataset(
    const std::vector<Interaction>& interactions, const std::vector<CatalogueItem>& catalogue,
    const SequenceBuildOptions& options, SequenceBuildReport* report = nullptr,
    const std::vector<std::pair<std::string, nlohmann::json>>& user_metadata = {});

}  // namespace gavamoe
