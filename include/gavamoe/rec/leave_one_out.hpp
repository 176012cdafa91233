// Leave-one-out split of a SequenceDataset: which (user, position) pairs are training,
// validation and test targets. The history of a target is everything before its position.
//
// "separate" (default): the last item is the test target, the one before it the validation
// target, and the training targets are items[1:-2] (the first item never is a target: it has no
// history). "original": RecAI's unirec_split.py: training targets items[1:-1], and validation
// and test are both the last item (UniRec then early-stops on the test set).
// A user with one item has no target with a history and is skipped (counted); in "separate" a
// user with two items has a test target only. The training part of a sequence is what comes
// before its first held-out target (items[:-2] in "separate", items[:-1] in "original"):
// popularity is counted on it, and MF never samples it as a negative (in "original" MF excludes
// the whole sequence, as UniRec's negative sampling does).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

enum class HoldoutMode { separate, original };
// "separate" | "original"; anything else is an Error naming `key`.
HoldoutMode parse_holdout_mode(const std::string& name, const std::string& key);
const char* holdout_name(HoldoutMode mode);

struct SequenceTarget {
  int64_t user = 0;      // index into SequenceDataset::sequences
  int64_t position = 0;  // target = sequences[user][position]; history = positions before it
};

struct LeaveOneOutSplit {
  HoldoutMode mode = HoldoutMode::separate;
  std::vector<SequenceTarget> train, validation, test;
  // Per user: positions [0, training_part[u]) are the training part.
  std::vector<int64_t> training_part;
  int64_t skipped_users = 0;  // one item only
};

LeaveOneOutSplit leave_one_out(const SequenceDataset& data, HoldoutMode mode);

// The last `length` items before the target, left-padded with 0 to exactly `length` ids.
std::vector<int64_t> padded_history(const SequenceDataset& data, const SequenceTarget& target,
                                    int64_t length);

}  // namespace gavamoe
