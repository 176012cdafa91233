// IdMap: string ids to dense indices in order of first appearance.
#include "gavamoe/data/record.hpp"

namespace gavamoe {

int64_t IdMap::add(const std::string& id) {
  auto [it, inserted] = index_.emplace(id, static_cast<int64_t>(ids_.size()));
  if (inserted) ids_.push_back(id);
  return it->second;
}

int64_t IdMap::find(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

}  // namespace gavamoe
