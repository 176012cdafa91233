// Importers: dedup (earliest record per pair), stable time order, the iterative k-core, id maps
// by the user shuffle, unique titles; MovieLens' and Amazon's file formats and their errors; the
// real MovieLens-100k and Amazon Musical Instruments files when GAVAMOE_DATASETS is set.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/amazon_sequences.hpp"
#include "gavamoe/rec/movielens_import.hpp"
#include "gavamoe/rec/unique_titles.hpp"
#include "rec_fixtures.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

// The item names of a user's sequence, found by the user's external id.
std::vector<std::string> named_sequence(const SequenceDataset& data, const std::string& user) {
  for (size_t u = 0; u < data.users.size(); ++u) {
    if (data.user_names[data.users[u]] != user) continue;
    std::vector<std::string> names;
    for (int64_t item : data.sequences[u]) names.push_back(data.item_names[item]);
    return names;
  }
  return {};
}

std::string tiny_movielens(const std::string& dir) {
  std::string items;
  items += test::u_item_line(1, "Alpha (1995)", 1);
  items += test::u_item_line(2, "Same (1990)", 5);
  items += test::u_item_line(3, "Gone (1991)", 8);
  items += test::u_item_line(4, "Unrated (1992)", 8);
  items += test::u_item_line(5, "Caf\xe9 (1993)", 8);  // Latin-1 e-acute
  items += test::u_item_line(6, "same (1990) ", 3);    // the same title as movie 2
  items += test::u_item_line(7, "Later (1994)", 2);
  test::write_text(dir + "/u.item", items);
  // user item rating time; k = 2 leaves users 1, 2 and movies 1, 2, 6 (see TinyMovieLens).
  test::write_text(dir + "/u.data",
                   "1\t1\t5\t100\n1\t2\t3\t100\n1\t6\t4\t50\n2\t2\t1\t10\n2\t1\t2\t20\n"
                   "2\t6\t3\t30\n3\t3\t4\t5\n3\t7\t4\t6\n4\t7\t4\t7\n4\t1\t4\t8\n");
  test::write_text(dir + "/u.user",
                   "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n"
                   "4|24|M|technician|43537\n");
  return dir;
}

TEST(Import, TinyMovieLensCoreOrderTitles) {
  const std::string dir = tiny_movielens(test::scratch_dir());
  SequenceBuildReport report;
  const SequenceDataset data = import_movielens(dir, {2, 7}, &report);
  // Pass 1 removes movie 3 (one rating), so user 3 keeps one movie and goes in pass 2; movie 7
  // then has one user and goes in pass 3, then user 4 in pass 4.
  EXPECT_EQ(report.core_passes, 4);
  EXPECT_EQ(report.users_removed, 2);
  EXPECT_EQ(report.items_removed, 2);
  EXPECT_EQ(report.interactions_kept, 6);
  ASSERT_EQ(data.users.size(), 2u);
  EXPECT_EQ(data.users, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(data.n_items(), 4);
  // Time order; movies 1 and 2 share time 100 and keep the file order.
  EXPECT_EQ(named_sequence(data, "1"), (std::vector<std::string>{"6", "1", "2"}));
  EXPECT_EQ(named_sequence(data, "2"), (std::vector<std::string>{"2", "1", "6"}));
  // Item ids by first appearance walking the (shuffled) users.
  const std::vector<int64_t>& first = data.sequences[0];
  EXPECT_EQ(first, (std::vector<int64_t>{1, 2, 3}));
  // Unique titles in movie-id order: movie 6 (after movie 2) is renamed.
  std::map<std::string, std::string> title;
  for (int64_t i = 1; i < data.n_items(); ++i) title[data.item_names[i]] = data.items[i - 1].title;
  EXPECT_EQ(title["2"], "Same (1990)");
  EXPECT_EQ(title["6"], "same (1990) [2]");
  EXPECT_EQ(report.titles_renamed, 1);
  // Genres as features, the release date kept; users' metadata in uid order.
  for (int64_t i = 1; i < data.n_items(); ++i)
    if (data.item_names[i] == "1") {
      EXPECT_EQ(data.items[i - 1].features, (std::vector<std::string>{"Action"}));
      EXPECT_EQ(data.items[i - 1].metadata.at("release_date"), "01-Jan-1995");
    }
  ASSERT_EQ(data.user_metadata.size(), 2u);
  EXPECT_EQ(data.user_metadata[0].at("user_id"), data.user_names[1]);
}

TEST(Import, TheUserShuffleFollowsTheSeed) {
  const std::string dir = tiny_movielens(test::scratch_dir());
  std::set<std::string> orders;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const SequenceDataset data = import_movielens(dir, {1, seed});
    std::string order;
    for (size_t uid = 1; uid < data.user_names.size(); ++uid) order += data.user_names[uid];
    orders.insert(order);
    EXPECT_EQ(order.size(), 4u);
  }
  EXPECT_GT(orders.size(), 1u);
  const SequenceDataset a = import_movielens(dir, {1, 3}), b = import_movielens(dir, {1, 3});
  EXPECT_EQ(a.sequences, b.sequences);
}

TEST(Import, LatinOneTitlesBecomeUtf8) {
  const std::string dir = tiny_movielens(test::scratch_dir());
  test::write_text(dir + "/u.data", "1\t5\t3\t1\n");
  test::write_text(dir + "/u.user", "1|24|M|technician|85711\n");
  const SequenceDataset data = import_movielens(dir, {1, 1});
  EXPECT_EQ(data.items.at(0).title, "Caf\xc3\xa9 (1993)");
}

TEST(Import, BuilderKeepsTheEarliestRecordOfAPair) {
  std::vector<Interaction> interactions = {
      {"u", "a", 30}, {"u", "b", 20}, {"u", "a", 10}, {"u", "c", 20}};
  std::vector<CatalogueItem> catalogue = {{"a", {{"title", "A"}}}, {"b", {}}, {"c", {}}};
  SequenceBuildReport report;
  const SequenceDataset data = build_sequence_dataset(interactions, catalogue, {1, 1}, &report);
  EXPECT_EQ(report.repeats_dropped, 1);
  ASSERT_EQ(data.sequences.size(), 1u);
  EXPECT_EQ(named_sequence(data, "u"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_THROW(build_sequence_dataset({{"u", "zzz", 1}}, catalogue, {1, 1}), Error);
}

TEST(Import, UniqueTitlesSkipTakenSuffixes) {
  std::vector<std::string> titles = {"X", "x ", "X [2]", "Y", "X", ""};
  // "x " would become "x [2]", which is taken by the third title: it becomes "x [3]".
  EXPECT_EQ(make_titles_unique(titles), 2);
  EXPECT_EQ(titles, (std::vector<std::string>{"X", "x [3]", "X [2]", "Y", "X [4]", ""}));
}

TEST(Import, MovieLensErrorsNameFileAndLine) {
  const std::string dir = tiny_movielens(test::scratch_dir());
  auto error = [&](const std::string& file, const std::string& text) -> std::string {
    tiny_movielens(dir);
    test::write_text(dir + "/" + file, text);
    try {
      import_movielens(dir, {1, 1});
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error("u.data", "1\t1\t5\t100\n1\t99\t3\t7\n"),
            dir + "/u.data:line 2: movie 99 is not in u.item");
  EXPECT_EQ(error("u.data", "1\t1\t5\n"),
            dir +
                "/u.data:line 1: expected 4 tab-separated fields (user, item, rating, time), "
                "got 3");
  EXPECT_EQ(error("u.data", "9\t1\t5\t100\n"), dir + "/u.data:line 1: user 9 is not in u.user");
  EXPECT_EQ(error("u.item", "1|A|x\n"),
            dir +
                "/u.item:line 1: expected 24 '|'-separated fields (id, title, release date, "
                "video date, URL, 19 genre flags), got 3");
  std::string bad_flag = test::u_item_line(1, "A", 1);
  bad_flag.replace(bad_flag.rfind("|0"), 2, "|2");
  EXPECT_NE(error("u.item", bad_flag).find("u.item:line 1: genre flag Western is '2'"),
            std::string::npos);
  std::filesystem::remove(dir + "/u.data");
  EXPECT_THROW(import_movielens(dir, {1, 1}), Error);
}

TEST(Import, AmazonReviewsWithAndWithoutMetadata) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/reviews.json",
                   "{\"reviewerID\": \"U1\", \"asin\": \"B\", \"overall\": 5.0, "
                   "\"unixReviewTime\": 20}\n"
                   "{\"reviewerID\": \"U1\", \"asin\": \"A\", \"overall\": 1.0, "
                   "\"unixReviewTime\": 30}\n"
                   "{\"reviewerID\": \"U1\", \"asin\": \"B\", \"overall\": 2.0, "
                   "\"unixReviewTime\": 40}\n"
                   "{\"reviewerID\": \"U2\", \"asin\": \"C\", \"overall\": 3.0, "
                   "\"unixReviewTime\": 5}\n"
                   "{\"reviewerID\": \"U2\", \"asin\": \"A\", \"overall\": 3.0, "
                   "\"unixReviewTime\": 5}\n");
  test::write_text(dir + "/meta.json",
                   "{\"asin\": \"A\", \"title\": \" Amp!\\n\\tDeluxe. \", \"feature\": [\"loud\","
                   " \"::\"], \"description\": [\"Big\\n\\tamp.\"], \"brand\": \"X\\n    \\n    "
                   "Y\", \"related\": {\"also\": [\"B\"]}, \"imUrl\": \"http://i\"}\n"
                   "{\"asin\": \"B\", \"title\": \"Bass\"}\n"
                   "{\"asin\": \"C\", \"title\": \"\"}\n");
  AmazonSequenceReport report;
  const SequenceDataset with =
      import_amazon_sequences(dir + "/reviews.json", dir + "/meta.json", {1, 1}, &report);
  EXPECT_EQ(report.reviews, 5);
  EXPECT_EQ(report.reviews_without_title, 1);  // C has an empty title
  EXPECT_EQ(report.build.repeats_dropped, 1);
  EXPECT_EQ(named_sequence(with, "U1"), (std::vector<std::string>{"B", "A"}));
  EXPECT_EQ(named_sequence(with, "U2"), (std::vector<std::string>{"A"}));
  for (int64_t i = 1; i < with.n_items(); ++i) {
    const ItemInfo& info = with.items[i - 1];
    if (with.item_names[i] != "A") continue;
    EXPECT_EQ(info.title, "Amp! Deluxe");
    EXPECT_EQ(info.features, (std::vector<std::string>{"loud"}));
    EXPECT_EQ(info.description, (std::vector<std::string>{"Big amp"}));
    EXPECT_EQ(info.brand, "X Y");
    EXPECT_FALSE(info.metadata.contains("related"));
    EXPECT_FALSE(info.metadata.contains("imUrl"));
  }
  const SequenceDataset without = import_amazon_sequences(dir + "/reviews.json", "", {1, 1});
  EXPECT_EQ(named_sequence(without, "U2"), (std::vector<std::string>{"C", "A"}));
  EXPECT_FALSE(without.has_titles());
  EXPECT_EQ(without.items[0].metadata.at("asin"), without.item_names[1]);
  test::write_text(dir + "/bad.json", "{\"reviewerID\": \"U1\", \"asin\": \"B\"}\n");
  try {
    import_amazon_sequences(dir + "/bad.json", "", {1, 1});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              dir + "/bad.json:line 1: missing integer field \"unixReviewTime\"");
  }
}

TEST(ImportRealData, MovieLens100k) {
  GAVAMOE_REQUIRE_DATASETS(root);
  const std::string dir = root + "/movielens_100k";
  SequenceBuildReport report;
  const SequenceDataset data = import_movielens(dir, {5, 1}, &report);
  EXPECT_EQ(report.interactions_read, 100000);
  EXPECT_EQ(data.users.size(), 943u);
  EXPECT_EQ(report.repeats_dropped, 0);
  EXPECT_GT(report.titles_renamed, 0);
  EXPECT_LE(report.titles_renamed, 18);
  const auto stats = sequence_stats(data);
  EXPECT_EQ(stats.at("items_sharing_a_title"), 0);
  EXPECT_EQ(stats.at("items_with_title"), stats.at("items"));
  EXPECT_EQ(stats.at("repeated_items"), 0);
  // Each sequence is in time order.
  std::map<std::pair<std::string, std::string>, int64_t> time;
  std::istringstream ratings(test::read_text(dir + "/u.data"));
  std::string user, item, rating;
  int64_t t = 0;
  while (ratings >> user >> item >> rating >> t) time[{user, item}] = t;
  for (size_t u = 0; u < data.users.size(); ++u) {
    const std::string& name = data.user_names[data.users[u]];
    for (size_t k = 1; k < data.sequences[u].size(); ++k) {
      const int64_t before = time[std::make_pair(name, data.item_names[data.sequences[u][k - 1]])];
      const int64_t after = time[std::make_pair(name, data.item_names[data.sequences[u][k]])];
      ASSERT_LE(before, after) << name;
    }
  }
  // Without the filter every movie with a rating stays and all 18 repeated titles are renamed.
  SequenceBuildReport all;
  const SequenceDataset unfiltered = import_movielens(dir, {1, 1}, &all);
  EXPECT_EQ(unfiltered.items.size(), 1682u);
  EXPECT_EQ(all.titles_renamed, 18);
}

TEST(ImportRealData, AmazonMusicalInstruments) {
  GAVAMOE_REQUIRE_DATASETS(root);
  AmazonSequenceReport report;
  const SequenceDataset data = import_amazon_sequences(
      root + "/amazon_musical_instruments_5core/reviews_Musical_Instruments_5.json.gz", "", {5, 1},
      &report);
  EXPECT_EQ(report.reviews, 10261);
  EXPECT_EQ(report.build.repeats_dropped, 0);
  EXPECT_EQ(data.users.size(), 1429u);
  EXPECT_EQ(data.items.size(), 900u);
  EXPECT_EQ(report.build.interactions_kept, 10261);
}

}  // namespace
}  // namespace gavamoe
