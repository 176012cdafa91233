// The data check of sequence folders (consecutive repeats, a test or validation item already in
// the history), `gavamoe data check` on such a folder, and the recommenders' size and memory
// checks: each one clear error naming the key, exit 2, and no run folder left behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/sequence_check.hpp"
#include "rec/rec_fixtures.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

const DataFinding& finding(const DataCheck& check, const std::string& start) {
  for (const DataFinding& f : check.findings)
    if (f.what.rfind(start, 0) == 0) return f;
  throw std::runtime_error("no finding " + start);
}

// User 1 repeats item 2 back to back (so their validation item is in the history), user 2's
// test item 4 was already their first, user 3 is clean.
SequenceDataset repeating_sequences() {
  return test::make_sequences({{1, 2, 2, 3}, {4, 5, 4}, {1, 2, 3}}, 6);
}

TEST(SequenceCheck, CountsRepeatsAndTargetsInTheHistoryWithExamples) {
  const DataCheck check = check_sequences(repeating_sequences());
  const DataFinding& consecutive = finding(check, "interactions repeating the user's previous");
  EXPECT_EQ(consecutive.count, 1);
  EXPECT_EQ(consecutive.out_of, 10);
  EXPECT_FALSE(consecutive.leak);
  ASSERT_EQ(consecutive.examples.size(), 1u);
  EXPECT_EQ(consecutive.examples[0], "user 1: item 2 \"Item 2\" at positions 1 and 2");
  EXPECT_EQ(finding(check, "interactions repeating an earlier item").count, 2);
  const DataFinding& test = finding(check, "users whose test item");
  EXPECT_EQ(test.count, 1);
  EXPECT_EQ(test.out_of, 3);
  EXPECT_TRUE(test.leak);
  EXPECT_EQ(test.examples[0], "user 2: item 4 \"Item 4\" at positions 0 and 2");
  EXPECT_EQ(finding(check, "users whose validation item").count, 1);
  EXPECT_TRUE(check.leaks());
}

TEST(SequenceCheck, SequencesWithoutRepeatsAreClean) {
  const DataCheck check = check_sequences(test::random_sequences(20, 30, 2, 8, 5));
  EXPECT_TRUE(check.clean());
  EXPECT_FALSE(check.leaks());
}

TEST(SequenceCheck, DataCheckCommandOnASequenceFolder) {
  const std::string dir = test::scratch_dir() + "/sequence-check";
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_sequence_folder(dir + "/leaky", repeating_sequences());
  auto r = test::run_gavamoe("data check --data " + dir + "/leaky", dir);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("1 of 3        users whose test item (the last) is already in their "
                       "history  LEAK"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("e.g. user 2: item 4 \"Item 4\" at positions 0 and 2"), std::string::npos)
      << r.out;
  r = test::run_gavamoe("data check --json --data " + dir + "/leaky", dir);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out).at("leaks").get<bool>());

  write_sequence_folder(dir + "/clean", test::random_sequences(10, 20, 2, 6, 3));
  r = test::run_gavamoe("data check --data " + dir + "/clean", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("clean"), std::string::npos) << r.out;

  r = test::run_gavamoe("data check --split 2 --data " + dir + "/clean", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--split does not apply to the sequence folder"), std::string::npos)
      << r.err;
}

TEST(RecLimits, SizesOutsideTheBoundsNameTheKey) {
  SasrecOptions sasrec = test::tiny_sasrec_options(10);
  sasrec.dim = int64_t{1} << 20;
  sasrec.heads = 1;
  try {
    sasrec.check();
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'rec.sasrec_dim' is 1048576, outside 1..65536"),
              std::string::npos)
        << e.what();
  }
  MfOptions mf;
  mf.n_users = 3;
  mf.n_items = 3;
  mf.dim = int64_t{1} << 40;
  EXPECT_THROW(mf.check(), Error);
}

TEST(RecLimits, TrainingLargerThanMemoryIsRefusedBeforeTheRunFolder) {
  const std::string dir = test::scratch_dir() + "/rec-memory";
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_sequence_folder(dir + "/seq", test::random_sequences(10, 20, 3, 6, 3));
  // In range, but about 10 TiB of weights, gradients and AdamW moments.
  const auto r =
      test::run_gavamoe("rec train --model sasrec --data " + dir + "/seq --out " + dir +
                            "/run --set rec.sasrec_dim=4096 --set rec.sasrec_ffn=65536 --set "
                            "rec.sasrec_layers=1024",
                        dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("rec train: sasrec on " + dir + "/seq needs about "), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/run"));
}

}  // namespace
}  // namespace gavamoe
