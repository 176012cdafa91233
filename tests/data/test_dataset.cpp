// load_dataset over every layout, id maps, partitions, and the bad-input errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/data/jsonl.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

std::string load_error(const std::string& path, LoadOptions options = {}) {
  try {
    load_dataset(path, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Jsonl, ReadsBothSpellings) {
  const std::string text =
      R"({"user": "u1", "item": "i1", "rating": 4, "feature": "sound", "adjective": "great", "explanation": "great sound", "sentiment": 1, "title": "T"})"
      "\n\n"
      R"({"user": 7, "item": "i2", "label": 2, "review": "the strap broke", "feature": "strap"})"
      "\n";
  const std::vector<Record> records = parse_jsonl_records(text, "x.jsonl");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].user, "u1");
  EXPECT_EQ(records[0].explanation, "great sound");
  EXPECT_EQ(records[0].adjective, "great");
  EXPECT_EQ(records[0].title, "T");
  EXPECT_EQ(records[0].sentiment, 1);
  EXPECT_EQ(records[1].user, "7");
  EXPECT_DOUBLE_EQ(records[1].rating, 2.0);
  EXPECT_EQ(records[1].explanation, "the strap broke");
  EXPECT_EQ(records[1].sentiment, -1);  // from the rating when absent
  EXPECT_TRUE(records[1].has_text);
}

TEST(Jsonl, ErrorsNameTheLine) {
  auto error_for = [](const std::string& text) {
    try {
      parse_jsonl_records(text, "x.jsonl");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string good = R"({"user": "u", "item": "i", "rating": 1})";
  EXPECT_NE(error_for(good + "\n{\"user\": \n").find("x.jsonl:line 2: invalid JSON"),
            std::string::npos);
  EXPECT_NE(error_for(good + "\n" + good + "\n{\"item\": \"i\", \"rating\": 1}\n")
                .find("line 3: missing key 'user'"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"user": "u", "item": "i"})").find("missing key 'rating'"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"user": "u", "item": "i", "rating": "5"})").find("must be a number"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"user": "u", "item": "i", "rating": 1e999})").find("line 1: invalid"),
            std::string::npos);
  EXPECT_NE(error_for("[1, 2]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(error_for("{\"user\": \"\xff\", \"item\": \"i\", \"rating\": 1}").find("line 1"),
            std::string::npos);
}

std::vector<Record> sample_records(int n) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) {
    Record record;
    record.user = "u" + std::to_string(i % 7);
    record.item = "i" + std::to_string(i % 11);
    record.rating = 1 + i % 5;
    record.feature = "f" + std::to_string(i % 3);
    record.adjective = "good";
    record.explanation = "a good f" + std::to_string(i % 3);
    record.sentiment = record.rating >= 3 ? 1 : -1;
    record.has_text = true;
    records.push_back(record);
  }
  return records;
}

TEST(DatasetFolder, WriteThenLoadEveryFold) {
  const std::string dir = test::scratch_dir() + "/data";
  const std::vector<Record> records = sample_records(50);
  write_dataset_folder(dir, records, 3);
  for (int split = 1; split <= kFolds; ++split) {
    const Dataset dataset = load_dataset(dir, {split, 1});
    ASSERT_EQ(dataset.records.size(), 50u);
    EXPECT_EQ(dataset.format, DataFormat::jsonl);
    EXPECT_TRUE(dataset.has_text);
    EXPECT_EQ(dataset.subset(Subset::train).size(), 40u);
    EXPECT_EQ(dataset.subset(Subset::validation).size(), 5u);
    EXPECT_EQ(dataset.subset(Subset::test).size(), 5u);
    std::vector<int64_t> all;
    for (Subset s : kSubsets)
      all.insert(all.end(), dataset.subset(s).begin(), dataset.subset(s).end());
    std::sort(all.begin(), all.end());
    for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  }
  EXPECT_NE(load_dataset(dir, {1, 1}).subset(Subset::test),
            load_dataset(dir, {2, 1}).subset(Subset::test));
}

TEST(DatasetFolder, IdsAreDenseInFirstAppearanceOrder) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/r.jsonl", R"({"user": "b", "item": "x", "rating": 1}
{"user": "a", "item": "y", "rating": 2}
{"user": "b", "item": "z", "rating": 3}
)");
  const Dataset dataset = load_dataset(dir + "/r.jsonl");
  EXPECT_EQ(dataset.users.ids(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(dataset.items.ids(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(dataset.user_index(2), 0);
  EXPECT_EQ(dataset.item_index(2), 2);
  EXPECT_FALSE(dataset.has_text);
  EXPECT_THROW(dataset.require_text("train"), Error);
}

TEST(DatasetFolder, BareJsonlShuffleIsSeeded) {
  const std::string dir = test::scratch_dir();
  std::string text;
  for (const Record& record : sample_records(100)) text += record_to_json_line(record) + "\n";
  test::write_text(dir + "/r.jsonl", text);
  const Dataset a = load_dataset(dir + "/r.jsonl", {1, 5});
  const Dataset b = load_dataset(dir + "/r.jsonl", {1, 5});
  const Dataset c = load_dataset(dir + "/r.jsonl", {1, 6});
  EXPECT_EQ(a.subset(Subset::test), b.subset(Subset::test));
  EXPECT_NE(a.subset(Subset::test), c.subset(Subset::test));
  EXPECT_EQ(a.subset(Subset::train).size(), 80u);
}

TEST(IndexFile, PositionsAndErrors) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/ok.index", "3 0 2\n");
  EXPECT_EQ(read_index_file(dir + "/ok.index", 4), (std::vector<int64_t>{3, 0, 2}));
  test::write_text(dir + "/past.index", "0 1 9");
  try {
    read_index_file(dir + "/past.index", 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("past.index:byte 4: position 9 is past the end"),
              std::string::npos)
        << e.what();
  }
  test::write_text(dir + "/junk.index", "0 x1");
  EXPECT_THROW(read_index_file(dir + "/junk.index", 4), Error);
  test::write_text(dir + "/neg.index", "-1");
  EXPECT_THROW(read_index_file(dir + "/neg.index", 4), Error);
}

TEST(RatingsFolder, ReadsPartitionFiles) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/validation.txt", "u1\ti1\t4\nu2\ti1\t2.5\n");
  test::write_text(dir + "/test.txt", "u3\ti2\t5\r\n\n");
  const Dataset dataset = load_dataset(dir);
  EXPECT_EQ(dataset.format, DataFormat::ratings);
  ASSERT_EQ(dataset.records.size(), 3u);
  EXPECT_TRUE(dataset.subset(Subset::train).empty());
  EXPECT_EQ(dataset.subset(Subset::validation), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(dataset.subset(Subset::test), (std::vector<int64_t>{2}));
  EXPECT_DOUBLE_EQ(dataset.records[1].rating, 2.5);
  EXPECT_EQ(dataset.users.size(), 3);
}

TEST(RatingsFolder, MalformedLinesNameFileAndLine) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/train.tsv", "u1\ti1\t4\nu2 i1 3\n");
  EXPECT_NE(load_error(dir).find("train.tsv:line 2: expected 'user<TAB>item<TAB>rating'"),
            std::string::npos);
  test::write_text(dir + "/train.tsv", "u1\ti1\tfive\n");
  EXPECT_NE(load_error(dir).find("line 1: rating 'five' is not a number"), std::string::npos);
}

TEST(PeplerFolder, ReadsPickleWrittenByPython) {
  const std::string dir = test::scratch_dir();
  const std::string script = dir + "/make.py";
  test::write_text(script, R"(import os, pickle, sys
out = sys.argv[1]
records = []
for i in range(20):
    records.append({'user': 'U%d' % (i % 4), 'item': 'I%d' % (i % 6), 'rating': 1 + i % 5,
                    'template': ('room', 'clean', 'the room was very clean \u00e9', 1 if i % 2 else -1),
                    'predicted': ''})
with open(os.path.join(out, 'reviews.pickle'), 'wb') as f:
    pickle.dump(records, f, protocol=4)
for fold in range(1, 6):
    os.makedirs(os.path.join(out, str(fold)), exist_ok=True)
    for name, part in (('train', range(0, 16)), ('validation', range(16, 18)), ('test', range(18, 20))):
        with open(os.path.join(out, str(fold), name + '.index'), 'w') as f:
            f.write(' '.join(str(p) for p in part))
)");
  ASSERT_EQ(test::run_python(script, dir, dir).exit_code, 0);
  const Dataset dataset = load_dataset(dir, {2, 1});
  EXPECT_EQ(dataset.format, DataFormat::pepler);
  ASSERT_EQ(dataset.records.size(), 20u);
  EXPECT_EQ(dataset.records[5].user, "U1");
  EXPECT_EQ(dataset.records[5].item, "I5");
  EXPECT_DOUBLE_EQ(dataset.records[5].rating, 1);
  EXPECT_EQ(dataset.records[5].feature, "room");
  EXPECT_EQ(dataset.records[5].adjective, "clean");
  EXPECT_EQ(dataset.records[5].explanation, "the room was very clean \xc3\xa9");
  EXPECT_EQ(dataset.records[5].sentiment, 1);
  EXPECT_EQ(dataset.subset(Subset::test), (std::vector<int64_t>{18, 19}));
  EXPECT_EQ(dataset.users.size(), 4);
  EXPECT_TRUE(dataset.has_text);
  EXPECT_NE(load_error(dir, {7, 1}).find("split folder not found"), std::string::npos);
}

TEST(LoadDataset, MissingAndUnknownLayouts) {
  const std::string dir = test::scratch_dir();
  EXPECT_NE(load_error(dir + "/nope").find("no such file or folder"), std::string::npos);
  EXPECT_NE(load_error(dir).find("not a dataset folder"), std::string::npos);
  test::write_text(dir + "/empty.jsonl", "\n");
  EXPECT_NE(load_error(dir + "/empty.jsonl").find("no records"), std::string::npos);
}

TEST(RealData, PeterSamplesLoad) {
  GAVAMOE_REQUIRE_DATASETS(datasets);
  const Dataset dataset = load_dataset(datasets + "/peter_samples/tripadvisor_test_head.jsonl");
  EXPECT_EQ(dataset.records.size(), 65u);
  EXPECT_TRUE(dataset.has_text);
  const Dataset ratings = load_dataset(datasets + "/peter_ratings/TripAdvisor");
  EXPECT_EQ(ratings.subset(Subset::validation).size(), 32003u);
  EXPECT_EQ(ratings.subset(Subset::test).size(), 32003u);
}

}  // namespace
}  // namespace gavamoe
