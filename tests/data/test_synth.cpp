// Synthetic data: determinism, the planted group structure, and all-or-nothing output.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/jsonl.hpp"
#include "gavamoe/data/opinion_lexicon.hpp"
#include "gavamoe/data/synth.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

std::map<std::string, int> group_of_users(const SynthDataset& dataset) {
  return {dataset.user_groups.begin(), dataset.user_groups.end()};
}

// Two-way layout F statistic of the group x item interaction: how much the mean rating of
// (group, item) cells departs from the item's mean, relative to the spread inside cells.
// Near 1 when groups do not matter.
double group_item_f(const std::vector<Record>& records, const std::vector<int>& groups) {
  std::map<std::string, std::vector<double>> item_ratings;
  std::map<std::pair<std::string, int>, std::vector<double>> cell_ratings;
  for (size_t r = 0; r < records.size(); ++r) {
    item_ratings[records[r].item].push_back(records[r].rating);
    cell_ratings[{records[r].item, groups[r]}].push_back(records[r].rating);
  }
  const auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / static_cast<double>(v.size());
  };
  double between = 0, within = 0;
  int64_t df_between = 0, df_within = 0;
  std::map<std::string, int> cells_of_item;
  for (const auto& [cell, ratings] : cell_ratings) {
    const double m = mean(ratings);
    between +=
        static_cast<double>(ratings.size()) * std::pow(m - mean(item_ratings[cell.first]), 2);
    for (double x : ratings) within += (x - m) * (x - m);
    df_within += static_cast<int64_t>(ratings.size()) - 1;
    ++cells_of_item[cell.first];
  }
  for (const auto& [item, cells] : cells_of_item) df_between += cells - 1;
  return (between / static_cast<double>(df_between)) / (within / static_cast<double>(df_within));
}

TEST(Synth, SameOptionsGiveSameRecordsAndBytes) {
  const std::string dir = test::scratch_dir();
  SynthOptions options;
  options.records = 800;
  options.seed = 7;
  const SynthDataset a = make_synthetic_dataset(options);
  const SynthDataset b = make_synthetic_dataset(options);
  ASSERT_EQ(a.records.size(), 800u);
  for (size_t r = 0; r < a.records.size(); ++r)
    ASSERT_EQ(record_to_json_line(a.records[r]), record_to_json_line(b.records[r]));
  write_synthetic_dataset(dir + "/a", a, options.seed);
  write_synthetic_dataset(dir + "/b", b, options.seed);
  for (const char* file : {"reviews.jsonl", "truth.jsonl", "1/train.index", "5/test.index"}) {
    const std::string bytes = test::read_text(dir + "/a/" + file);
    EXPECT_FALSE(bytes.empty()) << file;
    EXPECT_EQ(bytes, test::read_text(dir + "/b/" + file)) << file;
  }
  options.seed = 8;
  EXPECT_NE(record_to_json_line(make_synthetic_dataset(options).records[0]),
            record_to_json_line(a.records[0]));
}

TEST(Synth, RecordsAreConsistent) {
  const SynthDataset dataset = make_synthetic_dataset({});
  ASSERT_EQ(dataset.records.size(), 3000u);
  std::set<std::pair<std::string, std::string>> pairs;
  for (const Record& record : dataset.records) {
    EXPECT_TRUE(pairs.emplace(record.user, record.item).second) << "duplicate pair";
    EXPECT_GE(record.rating, 1);
    EXPECT_LE(record.rating, 5);
    EXPECT_EQ(record.sentiment, record.rating >= 3 ? 1 : -1);
    EXPECT_NE(record.explanation.find(record.feature), std::string::npos) << record.explanation;
    EXPECT_NE(record.explanation.find(record.adjective), std::string::npos) << record.explanation;
    const int polarity = opinion_polarity(record.adjective);
    if (polarity != 0) {
      EXPECT_EQ(polarity, record.sentiment) << record.adjective;
    }
    EXPECT_EQ(record.explanation.find(" a e"), std::string::npos) << record.explanation;
  }
  // Every user appears, ids follow first appearance, groups are balanced.
  ASSERT_EQ(dataset.user_groups.size(), 300u);
  EXPECT_EQ(dataset.records[0].user, "u0001");
  EXPECT_EQ(dataset.user_groups[0].first, "u0001");
  std::map<int, int> group_sizes;
  for (const auto& [user, group] : dataset.user_groups) ++group_sizes[group];
  ASSERT_EQ(group_sizes.size(), 4u);
  for (const auto& [group, size] : group_sizes) EXPECT_EQ(size, 75);
  std::istringstream truth(user_groups_jsonl(dataset));
  std::string first_line;
  std::getline(truth, first_line);
  EXPECT_EQ(first_line,
            "{\"group\":" + std::to_string(dataset.user_groups[0].second) + ",\"user\":\"u0001\"}");
}

TEST(Synth, RatingsDependOnGroupTimesItemBeyondNoise) {
  const SynthDataset dataset = make_synthetic_dataset({});
  const auto groups = group_of_users(dataset);
  std::vector<int> true_groups, shuffled_groups;
  for (const Record& record : dataset.records) true_groups.push_back(groups.at(record.user));
  // Control: groups from a hash of the user id, unrelated to the planted ones.
  for (const Record& record : dataset.records)
    shuffled_groups.push_back(static_cast<int>(std::hash<std::string>{}(record.user + "x") % 4));
  const double f_true = group_item_f(dataset.records, true_groups);
  const double f_control = group_item_f(dataset.records, shuffled_groups);
  EXPECT_GT(f_true, 3.0) << "control " << f_control;
  EXPECT_LT(f_control, 2.0);
  EXPECT_GT(f_true, 2.0 * f_control);
}

TEST(Synth, GroupWordingDiffers) {
  // Naive Bayes on explanation words, trained on even records and tested on odd ones.
  const SynthDataset dataset = make_synthetic_dataset({});
  const auto groups = group_of_users(dataset);
  const int k = 4;
  std::vector<std::map<std::string, double>> counts(k);
  std::vector<double> totals(k, 0);
  std::set<std::string> vocabulary;
  const auto words = [](const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };
  for (size_t r = 0; r < dataset.records.size(); r += 2) {
    const int g = groups.at(dataset.records[r].user);
    for (const std::string& w : words(dataset.records[r].explanation)) {
      ++counts[g][w];
      ++totals[g];
      vocabulary.insert(w);
    }
  }
  int correct = 0, tested = 0;
  for (size_t r = 1; r < dataset.records.size(); r += 2) {
    int best = -1;
    double best_score = -1e300;
    for (int g = 0; g < k; ++g) {
      double score = 0;
      for (const std::string& w : words(dataset.records[r].explanation)) {
        const auto found = counts[g].find(w);
        const double c = found == counts[g].end() ? 0.0 : found->second;
        score += std::log((c + 1.0) / (totals[g] + static_cast<double>(vocabulary.size())));
      }
      if (score > best_score) best_score = score, best = g;
    }
    correct += best == groups.at(dataset.records[r].user);
    ++tested;
  }
  EXPECT_GT(static_cast<double>(correct) / tested, 0.8) << correct << " of " << tested;
}

TEST(Synth, BadOptionsAndOccupiedFolderFailCleanly) {
  const std::string dir = test::scratch_dir();
  SynthOptions options;
  options.clusters = 0;
  EXPECT_THROW(make_synthetic_dataset(options), Error);
  options = {};
  options.records = 300 * 200;
  EXPECT_THROW(make_synthetic_dataset(options), Error);

  options = {};
  options.records = 400;
  std::filesystem::create_directories(dir + "/out");
  test::write_text(dir + "/out/keep.txt", "mine");
  EXPECT_THROW(write_synthetic_dataset(dir + "/out", make_synthetic_dataset(options), 1), Error);
  EXPECT_EQ(test::read_text(dir + "/out/keep.txt"), "mine");
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1) << "a temporary folder was left behind";
}

}  // namespace
}  // namespace gavamoe
