// Data check (see the header): duplicate and cross-partition pairs, recited explanations,
// rating values. Explanations compare by normalised_text, so a copy that differs only in
// spacing or case still counts.
#include "gavamoe/data/data_check.hpp"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "gavamoe/core/log.hpp"
#include "gavamoe/data/normalised_text.hpp"

namespace gavamoe {
namespace {

std::string pair_key(const Record& record) { return record.user + '\t' + record.item; }

std::string describe(const Record& record) {
  std::string text = "user " + record.user + ", item " + record.item;
  if (record.has_text) text += ": \"" + record.explanation + "\"";
  return text;
}

void add_example(DataFinding& finding, const Record& record) {
  ++finding.count;
  if (finding.examples.size() < kDataCheckExamples) finding.examples.push_back(describe(record));
}

}  // namespace

bool DataCheck::leaks() const {
  for (const DataFinding& finding : findings)
    if (finding.leak && finding.count > 0) return true;
  return false;
}

bool DataCheck::clean() const {
  for (const DataFinding& finding : findings)
    if (finding.count > 0) return false;
  return true;
}

DataCheck check_dataset(const Dataset& dataset) {
  DataCheck check;
  const auto& records = dataset.records;
  const int64_t n_records = static_cast<int64_t>(records.size());

  DataFinding duplicates{
      "records repeating an earlier record's (user, item)", 0, n_records, false, {}};
  std::unordered_set<std::string> seen;
  for (const Record& record : records)
    if (!seen.insert(pair_key(record)).second) add_example(duplicates, record);
  check.findings.push_back(std::move(duplicates));

  DataFinding ratings{"ratings outside 1..5 or not integral", 0, n_records, false, {}};
  for (const Record& record : records)
    if (!(record.rating >= 1.0 && record.rating <= 5.0) ||
        record.rating != std::floor(record.rating))
      add_example(ratings, record);
  check.findings.push_back(std::move(ratings));

  std::unordered_set<std::string> train_pairs, train_texts, train_user_texts;
  for (int64_t r : dataset.subset(Subset::train)) {
    const Record& record = records[static_cast<size_t>(r)];
    train_pairs.insert(pair_key(record));
    if (!record.has_text) continue;
    const std::string text = normalised_text(record.explanation);
    train_texts.insert(text);
    train_user_texts.insert(record.user + '\t' + text);
  }
  for (Subset subset : {Subset::validation, Subset::test}) {
    const auto& positions = dataset.subset(subset);
    const int64_t n = static_cast<int64_t>(positions.size());
    const std::string name = subset_name(subset);
    DataFinding pairs{name + " records whose (user, item) is also in train", 0, n, true, {}};
    // Short sentences recur across reviewers ("great quality"); only the same user's copy is a
    // recital a model can learn, so only that one counts as a leak.
    DataFinding texts{name + " explanations that occur verbatim in train", 0, n, false, {}};
    DataFinding user_texts{
        name + " explanations the same user wrote verbatim in train", 0, n, true, {}};
    for (int64_t r : positions) {
      const Record& record = records[static_cast<size_t>(r)];
      if (train_pairs.count(pair_key(record))) add_example(pairs, record);
      if (!record.has_text) continue;
      const std::string text = normalised_text(record.explanation);
      if (train_texts.count(text)) add_example(texts, record);
      if (train_user_texts.count(record.user + '\t' + text)) add_example(user_texts, record);
    }
    check.findings.push_back(std::move(pairs));
    if (dataset.has_text) {
      check.findings.push_back(std::move(texts));
      check.findings.push_back(std::move(user_texts));
    }
  }
  return check;
}

void warn_about_data(const Dataset& dataset, const DataCheck& check) {
  warn_about_data(dataset.path, check);
}

void warn_about_data(const std::string& path, const DataCheck& check) {
  for (const DataFinding& finding : check.findings) {
    if (finding.count == 0) continue;
    const double share = finding.out_of > 0 ? 100.0 * static_cast<double>(finding.count) /
                                                  static_cast<double>(finding.out_of)
                                            : 0.0;
    const std::string example = finding.examples.empty() ? "" : "; e.g. " + finding.examples[0];
    if (finding.leak)
      log::warn("%s: %lld %s (%.1f%% of %lld)%s; `gavamoe data check` lists them", path.c_str(),
                static_cast<long long>(finding.count), finding.what.c_str(), share,
                static_cast<long long>(finding.out_of), example.c_str());
    else
      log::info("%s: %lld %s (%.1f%%)%s", path.c_str(), static_cast<long long>(finding.count),
                finding.what.c_str(), share, example.c_str());
  }
}

}  // namespace gavamoe
