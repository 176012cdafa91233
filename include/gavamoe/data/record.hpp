// Record and IdMap: the data model shared by every stage.
//
// A record is one (user, item) interaction with its rating and, when the data has text, the
// explanation sentence with its feature, adjective and sentiment. Ids map to dense indices in
// order of first appearance over the whole record list (the PEPLER convention), so indices
// agree with other tools on the same data.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gavamoe {

struct Record {
  std::string user;
  std::string item;
  double rating = 0.0;
  std::string feature;
  std::string adjective;
  std::string explanation;
  int sentiment = 0;  // +1 / -1; 0 when unknown
  std::string title;
  bool has_text = false;  // false for ratings-only data
};

class IdMap {
 public:
  // Index of `id`, adding it at the end when new.
  int64_t add(const std::string& id);
  // Index of `id`, or -1.
  int64_t find(const std::string& id) const;
  const std::string& id(int64_t index) const { return ids_.at(static_cast<size_t>(index)); }
  int64_t size() const { return static_cast<int64_t>(ids_.size()); }
  const std::vector<std::string>& ids() const { return ids_; }

 private:
  std::vector<std::string> ids_;
  std::unordered_map<std::string, int64_t> index_;
};

}  // namespace gavamoe
