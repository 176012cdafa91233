// Data check: a hand-made fold with every kind of finding planted, counted by hand; the CLI's
// exit status on a leaking and a clean split.
#include <gtest/gtest.h>

#include <filesystem>

#include "gavamoe/data/data_check.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/data/jsonl.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

std::string line(const std::string& user, const std::string& item, double rating,
                 const std::string& explanation) {
  Record record;
  record.user = user;
  record.item = item;
  record.rating = rating;
  record.feature = "sound";
  record.adjective = "good";
  record.explanation = explanation;
  record.sentiment = 1;
  record.has_text = true;
  return record_to_json_line(record) + "\n";
}

// Records 0-3 train, 4-5 validation, 6-8 test.
std::string write_fold(const std::string& dir, const std::string& records) {
  std::filesystem::create_directories(dir + "/1");
  test::write_text(dir + "/reviews.jsonl", records);
  test::write_text(dir + "/1/train.index", "0 1 2 3");
  test::write_text(dir + "/1/validation.index", "4 5");
  test::write_text(dir + "/1/test.index", "6 7 8");
  return dir;
}

const DataFinding& finding(const DataCheck& check, const std::string& what) {
  for (const DataFinding& f : check.findings)
    if (f.what == what) return f;
  throw std::runtime_error("no finding '" + what + "'");
}

TEST(DataCheck, CountsEveryPlantedProblem) {
  const std::string dir = write_fold(
      test::scratch_dir() + "/data",
      line("U1", "I1", 5, "the sound is great") + line("U2", "I1", 4, "solid cable") +
          line("U3", "I2", 3.5, "fine strings") + line("U1", "I1", 6, "a repeat of the pair") +
          line("U4", "I3", 4, "The  Sound is GREAT") +  // validation: recites U1's text
          line("U2", "I1", 4, "something new") +        // validation: pair of train record 1
          line("U2", "I4", 2, "solid cable") +          // test: U2 recites itself
          line("U5", "I5", 1, "nothing like it") +      // test: clean
          line("U3", "I2", 5, "fine strings"));         // test: pair and text of U3
  const Dataset dataset = load_dataset(dir);
  const DataCheck check = check_dataset(dataset);
  EXPECT_TRUE(check.leaks());

  EXPECT_EQ(finding(check, "records repeating an earlier record's (user, item)").count, 3);
  EXPECT_EQ(finding(check, "ratings outside 1..5 or not integral").count, 2);
  EXPECT_EQ(finding(check, "validation records whose (user, item) is also in train").count, 1);
  EXPECT_EQ(finding(check, "validation explanations that occur verbatim in train").count, 1);
  EXPECT_EQ(finding(check, "validation explanations the same user wrote verbatim in train").count,
            0);
  const DataFinding& test_pairs =
      finding(check, "test records whose (user, item) is also in train");
  EXPECT_EQ(test_pairs.count, 1);
  EXPECT_EQ(test_pairs.out_of, 3);
  EXPECT_EQ(test_pairs.examples, std::vector<std::string>{"user U3, item I2: \"fine strings\""});
  EXPECT_EQ(finding(check, "test explanations that occur verbatim in train").count, 2);
  EXPECT_FALSE(finding(check, "test explanations that occur verbatim in train").leak);
  EXPECT_TRUE(finding(check, "test explanations the same user wrote verbatim in train").leak);
  EXPECT_EQ(finding(check, "test explanations the same user wrote verbatim in train").count, 2);
}

TEST(DataCheck, CliExitsOneOnALeakAndZeroWhenClean) {
  const std::string dir = test::scratch_dir();
  write_fold(dir + "/leaky",
             line("U1", "I1", 5, "a") + line("U2", "I2", 4, "b") + line("U3", "I3", 3, "c") +
                 line("U4", "I4", 2, "d") + line("U5", "I5", 1, "e") + line("U6", "I6", 1, "f") +
                 line("U1", "I1", 5, "g") + line("U7", "I7", 1, "h") + line("U8", "I8", 1, "i"));
  const test::CommandResult leaky = test::run_gavamoe("data check --data " + dir + "/leaky", dir);
  EXPECT_EQ(leaky.exit_code, 1) << leaky.out;
  EXPECT_NE(leaky.out.find("LEAK"), std::string::npos) << leaky.out;

  write_fold(dir + "/clean",
             line("U1", "I1", 5, "a") + line("U2", "I2", 4, "b") + line("U3", "I3", 3, "c") +
                 line("U4", "I4", 2, "d") + line("U5", "I5", 1, "e") + line("U6", "I6", 1, "f") +
                 line("U7", "I7", 5, "g") + line("U8", "I8", 1, "h") + line("U9", "I9", 1, "i"));
  const test::CommandResult clean =
      test::run_gavamoe("data check --json --data " + dir + "/clean", dir);
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_NE(clean.out.find("\"leaks\":false"), std::string::npos) << clean.out;

  const test::CommandResult missing =
      test::run_gavamoe("data check --data " + dir + "/nowhere", dir);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

}  // namespace
}  // namespace gavamoe
