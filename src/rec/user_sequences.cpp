// UserSequences (user_sequences.hpp).
#include "gavamoe/rec/user_sequences.hpp"

#include <algorithm>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

UserSequences::UserSequences(const SequenceDataset& data) : data_(data) {
  for (size_t i = 0; i < data.users.size(); ++i)
    index_of_uid_[data.users[i]] = static_cast<int64_t>(i);
}

const std::vector<int64_t>& UserSequences::sequence(int64_t uid, const std::string& where) const {
  return data_.sequences[target(uid, -1, where).user];
}

SequenceTarget UserSequences::target(int64_t uid, int64_t iid, const std::string& where) const {
  const auto found = index_of_uid_.find(uid);
  if (found == index_of_uid_.end())
    throw Error(where + ": user " + std::to_string(uid) + " is not in " + data_.path);
  const auto& items = data_.sequences[found->second];
  if (iid == -1) return {found->second, static_cast<int64_t>(items.size())};
  const auto at = std::find(items.begin(), items.end(), iid);
  if (at == items.end())
    throw Error(where + ": item " + std::to_string(iid) + " is not in the sequence of user " +
                std::to_string(uid) + " in " + data_.path);
  return {found->second, static_cast<int64_t>(at - items.begin())};
}

std::vector<int64_t> UserSequences::history(int64_t uid, int64_t iid, int64_t length,
                                            const std::string& where) const {
  const SequenceTarget row = target(uid, iid, where);
  const auto& items = data_.sequences[row.user];
  const int64_t begin = std::max<int64_t>(0, row.position - length);
  return {items.begin() + begin, items.begin() + row.position};
}

}  // namespace gavamoe
