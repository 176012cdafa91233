// Leave-one-out targets (leave_one_out.hpp).
#include "gavamoe/rec/leave_one_out.hpp"

#include <algorithm>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

HoldoutMode parse_holdout_mode(const std::string& name, const std::string& key) {
  if (name == "separate") return HoldoutMode::separate;
  if (name == "original") return HoldoutMode::original;
  throw Error("config key '" + key + "' must be separate or original, got \"" + name + "\"");
}

const char* holdout_name(HoldoutMode mode) {
  return mode == HoldoutMode::separate ? "separate" : "original";
}

LeaveOneOutSplit leave_one_out(const SequenceDataset& data, HoldoutMode mode) {
  LeaveOneOutSplit split;
  split.mode = mode;
  for (size_t u = 0; u < data.sequences.size(); ++u) {
    const auto user = static_cast<int64_t>(u);
    const auto n = static_cast<int64_t>(data.sequences[u].size());
    if (n < 2) {
      ++split.skipped_users;
      split.training_part.push_back(n);
      continue;
    }
    split.test.push_back({user, n - 1});
    if (mode == HoldoutMode::original) {
      split.validation.push_back({user, n - 1});
      for (int64_t p = 1; p < n - 1; ++p) split.train.push_back({user, p});
      split.training_part.push_back(n - 1);
    } else {
      if (n >= 3) split.validation.push_back({user, n - 2});
      for (int64_t p = 1; p < n - 2; ++p) split.train.push_back({user, p});
      split.training_part.push_back(std::max<int64_t>(1, n - 2));
    }
  }
  return split;
}

std::vector<int64_t> padded_history(const SequenceDataset& data, const SequenceTarget& target,
                                    int64_t length) {
  const auto& sequence = data.sequences[target.user];
  std::vector<int64_t> history(length, 0);
  const int64_t take = std::min(length, target.position);
  std::copy(sequence.begin() + (target.position - take), sequence.begin() + target.position,
            history.end() - take);
  return history;
}

}  // namespace gavamoe
