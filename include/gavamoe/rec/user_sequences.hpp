// UserSequences: a SequenceDataset's sequences by user id, and where a (user, item) row stands in
// them. The history the recommender saw for the row (uid, iid) is the items before the first
// occurrence of iid in the user's sequence (the whole sequence for iid -1), as the label files
// are made (labels.hpp); align data and the surrogate's user vectors both read it here.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "gavamoe/rec/leave_one_out.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

class UserSequences {
 public:
  explicit UserSequences(const SequenceDataset& data);

  // Errors start with `where` and name the user or item and the dataset.
  const std::vector<int64_t>& sequence(int64_t uid, const std::string& where) const;
  // The sequence and the end of the row's history: items [0, position) come before iid.
  SequenceTarget target(int64_t uid, int64_t iid, const std::string& where) const;
  // The last `length` items of the row's history.
  std::vector<int64_t> history(int64_t uid, int64_t iid, int64_t length,
                               const std::string& where) const;

 private:
  const SequenceDataset& data_;
  std::unordered_map<int64_t, int64_t> index_of_uid_;
};

}  // namespace gavamoe
