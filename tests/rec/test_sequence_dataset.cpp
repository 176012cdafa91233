// RecExplainer's folder format: a folder written the way RecAI's scripts write it reads back
// with the right ids, metadata and maps; write + read round-trips; bad input is one error that
// names the file and line; statistics count repeats and shared titles.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"
#include "gavamoe/rec/user_sequences.hpp"
#include "rec_fixtures.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

// As RecAI's data_preprocess_amazon.py writes it: uid order, metadata line k = item k+1, one
// JSON object of string maps.
void write_recai_folder(const std::string& dir) {
  fs::create_directories(dir);
  test::write_text(dir + "/sequential_data.txt", "1 1 2 3\n2 2 3 1 4\n3 4 2\n");
  test::write_text(dir + "/metadata.json",
                   "{\"asin\": \"A1\", \"title\": \"Guitar\", \"feature\": [\"wood\", \"six "
                   "strings\"], \"description\": [\"A guitar.\"], \"brand\": \"Acme\", "
                   "\"price\": 9.5}\n"
                   "{\"asin\": \"A2\", \"title\": \"Strings\", \"description\": \"one string\"}\n"
                   "{\"asin\": \"A3\", \"title\": \"Capo\"}\n"
                   "{\"asin\": \"A4\", \"title\": \"Pick\", \"categories\": [[\"Music\"]]}\n");
  test::write_text(dir + "/datamaps.json",
                   "{\"user2id\": {\"U9\": \"1\", \"U7\": \"2\", \"U8\": \"3\"}, \"item2id\": "
                   "{\"A1\": \"1\", \"A2\": \"2\", \"A3\": \"3\", \"A4\": \"4\"}, \"id2user\": "
                   "{\"1\": \"U9\", \"2\": \"U7\", \"3\": \"U8\"}, \"id2item\": {\"1\": \"A1\", "
                   "\"2\": \"A2\", \"3\": \"A3\", \"4\": \"A4\"}}");
}

TEST(SequenceDataset, ReadsARecAiFolder) {
  const std::string dir = test::scratch_dir();
  write_recai_folder(dir);
  ASSERT_TRUE(is_sequence_folder(dir));
  const SequenceDataset data = read_sequence_folder(dir);
  EXPECT_EQ(data.users, (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(data.sequences.size(), 3u);
  EXPECT_EQ(data.sequences[1], (std::vector<int64_t>{2, 3, 1, 4}));
  EXPECT_EQ(data.n_items(), 5);
  EXPECT_EQ(data.n_users(), 4);
  EXPECT_EQ(data.items[0].title, "Guitar");
  EXPECT_EQ(data.items[0].features, (std::vector<std::string>{"wood", "six strings"}));
  EXPECT_EQ(data.items[0].brand, "Acme");
  EXPECT_EQ(data.items[1].description, (std::vector<std::string>{"one string"}));
  EXPECT_EQ(data.items[3].title, "Pick");
  EXPECT_EQ(data.item_names[4], "A4");
  EXPECT_EQ(data.user_names[2], "U7");
  EXPECT_TRUE(data.has_titles());
  EXPECT_EQ(data.item_label(3), "Capo");
}

TEST(SequenceDataset, WriteThenReadRoundTrips) {
  const std::string dir = test::scratch_dir();
  write_recai_folder(dir + "/in");
  SequenceDataset data = read_sequence_folder(dir + "/in");
  data.user_metadata = {{{"age", 30}}, {{"age", 40}}, {{"age", 50}}};
  write_sequence_folder(dir + "/out", data);
  const SequenceDataset back = read_sequence_folder(dir + "/out");
  EXPECT_EQ(back.users, data.users);
  EXPECT_EQ(back.sequences, data.sequences);
  ASSERT_EQ(back.items.size(), data.items.size());
  for (size_t i = 0; i < data.items.size(); ++i)
    EXPECT_EQ(back.items[i].metadata, data.items[i].metadata) << i;  // unknown keys kept
  EXPECT_EQ(back.item_names, data.item_names);
  EXPECT_EQ(back.user_names, data.user_names);
  EXPECT_EQ(back.user_metadata, data.user_metadata);
  // The maps are RecAI's four string maps.
  const auto maps = nlohmann::json::parse(test::read_text(dir + "/out/datamaps.json"));
  EXPECT_EQ(maps.at("item2id").at("A3"), "3");
  EXPECT_EQ(maps.at("id2user").at("3"), "U8");
  // An existing non-empty folder is refused and left alone.
  EXPECT_THROW(write_sequence_folder(dir + "/out", data), Error);
  EXPECT_TRUE(fs::exists(dir + "/out/sequential_data.txt"));
}

TEST(SequenceDataset, AFolderWithoutMapsReads) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/sequential_data.txt", "1 1 2\n2 2 1\n");
  test::write_text(dir + "/metadata.json", "{\"title\": \"a\"}\n{\"title\": \"b\"}\n");
  const SequenceDataset data = read_sequence_folder(dir);
  EXPECT_TRUE(data.item_names.empty());
  EXPECT_EQ(data.n_items(), 3);
}

// The error of reading `dir` after replacing one file's content.
std::string error_with(const std::string& dir, const std::string& file, const std::string& text) {
  write_recai_folder(dir);
  test::write_text(dir + "/" + file, text);
  try {
    read_sequence_folder(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SequenceDataset, BadInputNamesFileAndLine) {
  const std::string dir = test::scratch_dir();
  const std::string seq = dir + "/sequential_data.txt";
  EXPECT_EQ(error_with(dir, "sequential_data.txt", "1 1 2\n2 x 3\n"),
            seq + ":line 2: 'x' is not a positive integer id");
  EXPECT_EQ(error_with(dir, "sequential_data.txt", "1 1 2\n2\n"),
            seq + ":line 2: user 2 has no items");
  EXPECT_EQ(error_with(dir, "sequential_data.txt", "1 1 2\n1 3\n"),
            seq + ":line 2: user 1 appears again (first on line 1)");
  EXPECT_EQ(error_with(dir, "sequential_data.txt", "1 1 0\n"),
            seq + ":line 1: '0' is not a positive integer id");
  EXPECT_EQ(error_with(dir, "sequential_data.txt", "1 1 2\n3 9\n"),
            seq +
                ":line 2: item 9 has no metadata line (metadata.json has 4 lines; line k is "
                "item k+1)");
  EXPECT_EQ(error_with(dir, "sequential_data.txt", "1 1\n5 2\n"),
            seq + ":line 2: user 5 is not in datamaps.json (id2user)");
  const std::string meta = dir + "/metadata.json";
  EXPECT_EQ(error_with(dir, "metadata.json",
                       "{\"title\": \"a\"}\n{\"title\": \"b\"}\n{\"title\": \"c\"}\n{\"title\": "
                       "\"d\"}\n{\"title\": \"e\"}\n"),
            meta +
                ":line 5: describes item 5, which datamaps.json (id2item) does not have: line "
                "k is item k+1");
  EXPECT_EQ(error_with(dir, "metadata.json", "{\"title\": \"a\"}\n{\"title\": 3}\n"),
            meta + ":line 2: \"title\" must be a string");
  EXPECT_EQ(error_with(dir, "metadata.json", "{\"title\": \"a\"}\n{\"title\"\n"),
            meta + ":line 2: invalid JSON");
  EXPECT_EQ(error_with(dir, "metadata.json", "{\"title\": \"a\", \"feature\": [1]}\n"),
            meta + ":line 1: \"feature\" must be a list of strings");
  EXPECT_NE(error_with(dir, "datamaps.json", "[1]").find("datamaps.json: not a JSON object"),
            std::string::npos);
}

TEST(SequenceDataset, StatsCountRepeatsAndSharedTitles) {
  SequenceDataset data = test::make_sequences({{1, 1, 2, 3}, {2, 3, 2}, {4}, {1, 2, 4, 3}}, 5);
  data.items[3] = ItemInfo::from_metadata({{"title", " item 1 "}}, "test");  // like "Item 1"
  const auto stats = sequence_stats(data);
  EXPECT_EQ(stats.at("interactions"), 12);
  EXPECT_EQ(stats.at("repeated_consecutive_items"), 1);    // 1 1
  EXPECT_EQ(stats.at("repeated_items"), 2);                // 1 1, and 2 again in user 2
  EXPECT_EQ(stats.at("last_item_already_in_history"), 1);  // user 2 ends with 2
  EXPECT_EQ(stats.at("single_item_users"), 1);
  EXPECT_EQ(stats.at("items_sharing_a_title"), 2);
  EXPECT_EQ(stats.at("sequence_length").at("max"), 4);
}

// A row's history is what precedes the item's first occurrence (all items for -1), cut to the
// last `length`; unknown users and items are errors naming the row, the id and the dataset.
TEST(UserSequences, HistoryEndsBeforeTheFirstOccurrence) {
  const SequenceDataset data = test::make_sequences({{5, 3, 7, 3, 9}, {2, 4}}, 10);
  const UserSequences sequences(data);
  EXPECT_EQ(sequences.sequence(2, "row"), std::vector<int64_t>({2, 4}));
  const SequenceTarget target = sequences.target(1, 3, "row");
  EXPECT_EQ(target.user, 0);
  EXPECT_EQ(target.position, 1);
  EXPECT_EQ(sequences.target(1, -1, "row").position, 5);
  EXPECT_EQ(sequences.history(1, 9, 9, "row"), std::vector<int64_t>({5, 3, 7, 3}));
  EXPECT_EQ(sequences.history(1, 9, 2, "row"), std::vector<int64_t>({7, 3}));
  EXPECT_EQ(sequences.history(1, 3, 9, "row"), std::vector<int64_t>({5}));
  EXPECT_EQ(sequences.history(1, 5, 9, "row"), std::vector<int64_t>());
  EXPECT_EQ(sequences.history(2, -1, 1, "row"), std::vector<int64_t>({4}));
  const auto message = [&](int64_t uid, int64_t iid) {
    try {
      sequences.target(uid, iid, "labels: row 4");
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(3, 1), "labels: row 4: user 3 is not in memory");
  EXPECT_EQ(message(2, 5), "labels: row 4: item 5 is not in the sequence of user 2 in memory");
}

}  // namespace
}  // namespace gavamoe
