// Data check for sequence folders (sequence_check.hpp).
#include "gavamoe/rec/sequence_check.hpp"

#include <algorithm>
#include <unordered_set>

namespace gavamoe {
namespace {

// "user 12: item 5 "Title" at positions 3 and 4" (positions 0-based, oldest first).
std::string describe(const SequenceDataset& data, size_t user, int64_t item, int64_t first,
                     int64_t second) {
  std::string name = "user " + std::to_string(data.users[user]);
  if (data.users[user] < static_cast<int64_t>(data.user_names.size()))
    name += " (" + data.user_names[data.users[user]] + ")";
  return name + ": item " + std::to_string(item) + " \"" + data.item_label(item) +
         "\" at positions " + std::to_string(first) + " and " + std::to_string(second);
}

void add_example(DataFinding& finding, std::string example) {
  ++finding.count;
  if (finding.examples.size() < kDataCheckExamples) finding.examples.push_back(std::move(example));
}

// Whether the item at `position` occurs before it; `earlier` is then its first position.
bool occurs_before(const std::vector<int64_t>& sequence, int64_t position, int64_t& earlier) {
  const auto end = sequence.begin() + position;
  const auto found = std::find(sequence.begin(), end, sequence[position]);
  earlier = found - sequence.begin();
  return found != end;
}

}  // namespace

DataCheck check_sequences(const SequenceDataset& data) {
  int64_t interactions = 0, tested = 0, validated = 0;
  for (const auto& sequence : data.sequences) {
    const auto n = static_cast<int64_t>(sequence.size());
    interactions += n;
    tested += n >= 2;
    validated += n >= 3;
  }
  DataFinding consecutive{
      "interactions repeating the user's previous item", 0, interactions, false, {}};
  DataFinding repeated{
      "interactions repeating an earlier item of the same user", 0, interactions, false, {}};
  DataFinding test{
      "users whose test item (the last) is already in their history", 0, tested, true, {}};
  DataFinding validation{
      "users whose validation item (the second last) is already in their history",
      0,
      validated,
      true,
      {}};
  for (size_t u = 0; u < data.sequences.size(); ++u) {
    const auto& sequence = data.sequences[u];
    const auto n = static_cast<int64_t>(sequence.size());
    std::unordered_set<int64_t> seen;
    for (int64_t k = 0; k < n; ++k) {
      if (k > 0 && sequence[k] == sequence[k - 1])
        add_example(consecutive, describe(data, u, sequence[k], k - 1, k));
      if (!seen.insert(sequence[k]).second) {
        int64_t earlier = 0;
        occurs_before(sequence, k, earlier);
        add_example(repeated, describe(data, u, sequence[k], earlier, k));
      }
    }
    int64_t earlier = 0;
    if (n >= 2 && occurs_before(sequence, n - 1, earlier))
      add_example(test, describe(data, u, sequence[n - 1], earlier, n - 1));
    if (n >= 3 && occurs_before(sequence, n - 2, earlier))
      add_example(validation, describe(data, u, sequence[n - 2], earlier, n - 2));
  }
  DataCheck check;
  for (DataFinding* finding : {&consecutive, &repeated, &test, &validation})
    check.findings.push_back(std::move(*finding));
  return check;
}

}  // namespace gavamoe
