// Dedup, time order, k-core and id maps of raw interactions (sequence_builder.hpp).
#include "gavamoe/rec/sequence_builder.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <unordered_map>

#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/unique_titles.hpp"

namespace gavamoe {
namespace {

struct Event {
  std::string item;
  int64_t time;
};

using UserEvents = std::vector<std::pair<std::string, std::vector<Event>>>;

// Steps 1 and 2: per user in order of first appearance, earliest record per item, by time.
UserEvents user_sequences(const std::vector<Interaction>& interactions, int64_t* repeats) {
  UserEvents users;
  std::unordered_map<std::string, size_t> user_index;
  std::vector<std::unordered_map<std::string, size_t>> item_index;
  for (const Interaction& i : interactions) {
    auto [found, added] = user_index.emplace(i.user, users.size());
    if (added) {
      users.emplace_back(i.user, std::vector<Event>());
      item_index.emplace_back();
    }
    auto& events = users[found->second].second;
    auto& items = item_index[found->second];
    const auto seen = items.find(i.item);
    if (seen == items.end()) {
      items.emplace(i.item, events.size());
      events.push_back({i.item, i.time});
    } else {
      ++*repeats;
      Event& kept = events[seen->second];
      kept.time = std::min(kept.time, i.time);
    }
  }
  // A repeat can move its item's time earlier; events otherwise stay in input order, so the
  // stable sort keeps input order among equal times.
  for (auto& [user, events] : users)
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
  return users;
}

// Step 3, as filter_Kcore: every failing user and item of a pass goes at once.
void k_core(UserEvents& users, int64_t k, SequenceBuildReport& report) {
  if (k <= 1) return;
  std::map<std::string, int64_t> removed_items;
  while (true) {
    std::unordered_map<std::string, int64_t> item_count;
    bool fails = false;
    for (const auto& [user, events] : users) {
      if (static_cast<int64_t>(events.size()) < k) fails = true;
      for (const Event& e : events) ++item_count[e.item];
    }
    for (const auto& [item, count] : item_count)
      if (count < k) fails = true;
    if (!fails) break;
    ++report.core_passes;
    UserEvents kept;
    for (auto& [user, events] : users) {
      if (static_cast<int64_t>(events.size()) < k) {
        ++report.users_removed;
        continue;
      }
      std::vector<Event> remaining;
      for (Event& e : events)
        if (item_count[e.item] >= k) remaining.push_back(std::move(e));
      kept.emplace_back(user, std::move(remaining));
    }
    for (const auto& [item, count] : item_count)
      if (count < k) removed_items[item] = 1;
    users = std::move(kept);
  }
  report.items_removed = static_cast<int64_t>(removed_items.size());
}

}  // namespace

SequenceDataset build_sequence_dataset(
    const std::vector<Interaction>& interactions, const std::vector<CatalogueItem>& catalogue,
    const SequenceBuildOptions& options, SequenceBuildReport* report_out,
    const std::vector<std::pair<std::string, nlohmann::json>>& user_metadata) {
  SequenceBuildReport report;
  report.interactions_read = static_cast<int64_t>(interactions.size());
  std::unordered_map<std::string, size_t> catalogue_index;
  for (size_t k = 0; k < catalogue.size(); ++k) catalogue_index.emplace(catalogue[k].id, k);
  for (const Interaction& i : interactions)
    if (!catalogue_index.count(i.item))
      throw Error("item '" + i.item + "' has interactions but no catalogue entry");

  UserEvents users = user_sequences(interactions, &report.repeats_dropped);
  k_core(users, options.min_count, report);
  std::shuffle(users.begin(), users.end(), std::mt19937_64(options.seed));

  SequenceDataset data;
  data.user_names.push_back("");
  data.item_names.push_back("");
  std::unordered_map<std::string, int64_t> item_id;
  std::vector<size_t> item_source;  // catalogue index of item id k + 1
  for (auto& [user, events] : users) {
    if (events.empty()) continue;
    data.users.push_back(static_cast<int64_t>(data.user_names.size()));
    data.user_names.push_back(user);
    std::vector<int64_t> sequence;
    for (const Event& e : events) {
      auto [found, added] = item_id.emplace(e.item, static_cast<int64_t>(item_id.size()) + 1);
      if (added) {
        data.item_names.push_back(e.item);
        item_source.push_back(catalogue_index.at(e.item));
      }
      sequence.push_back(found->second);
    }
    report.interactions_kept += static_cast<int64_t>(sequence.size());
    data.sequences.push_back(std::move(sequence));
  }
  if (data.users.empty())
    throw Error("no user is left after the " + std::to_string(options.min_count) +
                "-core filter (--min-count)");

  // Titles made unique in catalogue order, then the metadata lines in item id order.
  std::vector<size_t> by_catalogue(item_source.size());
  for (size_t k = 0; k < by_catalogue.size(); ++k) by_catalogue[k] = k;
  std::sort(by_catalogue.begin(), by_catalogue.end(),
            [&](size_t a, size_t b) { return item_source[a] < item_source[b]; });
  std::vector<std::string> titles;
  for (size_t k : by_catalogue) {
    const nlohmann::json& metadata = catalogue[item_source[k]].metadata;
    const auto title = metadata.is_object() ? metadata.find("title") : metadata.end();
    titles.push_back(title != metadata.end() && title->is_string() ? title->get<std::string>()
                                                                   : std::string());
  }
  report.titles_renamed = make_titles_unique(titles);
  std::vector<nlohmann::json> lines(item_source.size());
  for (size_t r = 0; r < by_catalogue.size(); ++r) {
    nlohmann::json line = catalogue[item_source[by_catalogue[r]]].metadata;
    if (line.is_null()) line = nlohmann::json::object();
    if (!titles[r].empty()) line["title"] = titles[r];
    lines[by_catalogue[r]] = std::move(line);
  }
  for (size_t k = 0; k < lines.size(); ++k)
    data.items.push_back(
        ItemInfo::from_metadata(std::move(lines[k]), "item '" + data.item_names[k + 1] + "'"));

  if (!user_metadata.empty()) {
    std::unordered_map<std::string, const nlohmann::json*> by_user;
    for (const auto& [user, line] : user_metadata) by_user[user] = &line;
    for (size_t uid = 1; uid < data.user_names.size(); ++uid) {
      const auto found = by_user.find(data.user_names[uid]);
      if (found == by_user.end())
        throw Error("user '" + data.user_names[uid] + "' has interactions but no user entry");
      data.user_metadata.push_back(*found->second);
    }
  }
  if (report_out) *report_out = report;
  return data;
}

}  // namespace gavamoe
