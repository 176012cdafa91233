// Amazon import: clause splitting, tokens, and the records of a small gzipped fixture whose
// expected output was worked out by hand from the method.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/amazon_import.hpp"
#include "gavamoe/data/jsonl.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

void write_gzip(const std::string& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(file);
}

std::string review(const std::string& user, const std::string& item, int rating,
                   const std::string& text) {
  return "{\"reviewerID\": \"" + user + "\", \"asin\": \"" + item +
         "\", \"overall\": " + std::to_string(rating) + ".0, \"reviewText\": \"" + text +
         "\", \"summary\": \"s\", \"unixReviewTime\": 1393545600}\n";
}

std::string fixture() {
  return review("U1", "I1", 5, "The sound is great. I bought it for my son.") +
         review("U2", "I1", 2, "The sound is not good at all, the cable broke.") +
         review("U1", "I2", 4, "Nice sound and a sturdy cable.") +
         review("U3", "I2", 1, "Terrible cable!!! It died after a week.") +
         review("U3", "I1", 3, "Arrived on time.") +
         review("U2", "I2", 5, "The cable is excellent, but the sound is bland.") +
         review("U4", "I3", 2, "The sound isn\u2019t good.") +
         review("U4", "I1", 4, "The cable is &quot;clear&quot; and fine.") +
         review("U5", "I3", 4, "Not as noisy, better sound.");
}

TEST(AmazonImport, SplitsClauses) {
  const std::vector<std::string> expected = {"It is affordable", "I did not know",
                                             "Costs 3.5 dollars", "but works", "Really"};
  EXPECT_EQ(split_clauses("It is affordable.I did not know!  Costs 3.5 dollars, but works\n"
                          "Really?!"),
            expected);
}

TEST(AmazonImport, TokenizesWords) {
  const std::vector<std::string> expected = {"don't", "buy", "the", "x-1000's", "case", "really"};
  EXPECT_EQ(tokenize_words("Don\u2019t buy the X-1000's case\u2014really!"), expected);
}

TEST(AmazonImport, FixtureGivesExpectedRecords) {
  const std::string dir = test::scratch_dir();
  write_gzip(dir + "/reviews.json.gz", fixture());
  AmazonImportOptions options;
  options.min_feature_count = 2;
  const AmazonImport result = import_amazon_reviews(dir + "/reviews.json.gz", options);
  EXPECT_EQ(result.features, (std::vector<std::string>{"cable", "sound"}));
  EXPECT_EQ(result.reviews, 9);
  EXPECT_EQ(result.reviews_without_record, 1);  // "Arrived on time."
  struct Expected {
    const char *user, *item;
    double rating;
    const char *feature, *adjective, *explanation;
    int sentiment;
  };
  const Expected expected[] = {
      {"U1", "I1", 5, "sound", "great", "the sound is great", 1},
      {"U2", "I1", 2, "sound", "good", "the sound is not good at all, the cable broke", -1},
      {"U1", "I2", 4, "sound", "nice", "nice sound and a sturdy cable", 1},
      {"U3", "I2", 1, "cable", "terrible", "terrible cable", -1},
      {"U2", "I2", 5, "cable", "excellent", "the cable is excellent", 1},
      {"U4", "I3", 2, "sound", "good", "the sound isn\u2019t good", -1},
      {"U4", "I1", 4, "cable", "clear", "the cable is \"clear\" and fine", 1},
      {"U5", "I3", 4, "sound", "better", "not as noisy, better sound", 1},
  };
  ASSERT_EQ(result.records.size(), std::size(expected));
  for (size_t r = 0; r < result.records.size(); ++r) {
    const Record& got = result.records[r];
    SCOPED_TRACE(got.explanation);
    EXPECT_EQ(got.user, expected[r].user);
    EXPECT_EQ(got.item, expected[r].item);
    EXPECT_EQ(got.rating, expected[r].rating);
    EXPECT_EQ(got.feature, expected[r].feature);
    EXPECT_EQ(got.adjective, expected[r].adjective);
    EXPECT_EQ(got.explanation, expected[r].explanation);
    EXPECT_EQ(got.sentiment, expected[r].sentiment);
    EXPECT_TRUE(got.has_text);
  }

  // A plain (not gzipped) file reads the same.
  test::write_text(dir + "/reviews.json", fixture());
  const AmazonImport plain = import_amazon_reviews(dir + "/reviews.json", options);
  ASSERT_EQ(plain.records.size(), result.records.size());
  for (size_t r = 0; r < plain.records.size(); ++r)
    EXPECT_EQ(record_to_json_line(plain.records[r]), record_to_json_line(result.records[r]));
}

std::string timed_review(const std::string& user, const std::string& item, int64_t time,
                         const std::string& text) {
  return "{\"reviewerID\": \"" + user + "\", \"asin\": \"" + item +
         "\", \"overall\": 4.0, \"reviewText\": \"" + text +
         "\", \"unixReviewTime\": " + std::to_string(time) + "}\n";
}

TEST(AmazonImport, KeepsTheEarliestOfRepeatedReviews) {
  const std::string dir = test::scratch_dir();
  // U1 reviews I1 twice (the later one first in the file), and posts one text under two
  // variants I2 and I3 (spacing and case differ); U2's copy of that text is its own review.
  test::write_text(dir + "/reviews.json",
                   timed_review("U1", "I1", 200, "Great sound, late copy.") +
                       timed_review("U1", "I1", 100, "Great sound, first one.") +
                       timed_review("U1", "I2", 300, "Nice cable  here.") +
                       timed_review("U1", "I3", 250, "nice CABLE here.") +
                       timed_review("U2", "I2", 400, "Nice cable here.") +
                       timed_review("U2", "I3", 500, "Good sound."));
  AmazonImportOptions options;
  options.min_feature_count = 1;
  const AmazonImport result = import_amazon_reviews(dir + "/reviews.json", options);
  EXPECT_EQ(result.reviews, 6);
  EXPECT_EQ(result.duplicate_pairs, 1);
  EXPECT_EQ(result.duplicate_texts, 1);
  std::vector<std::string> kept;
  for (const Record& record : result.records)
    kept.push_back(record.user + " " + record.item + " " + record.explanation);
  // File order among the kept reviews; the earliest of each repeat.
  const std::vector<std::string> expected = {"U1 I1 great sound, first one",
                                             "U1 I3 nice cable here", "U2 I2 nice cable here",
                                             "U2 I3 good sound"};
  EXPECT_EQ(kept, expected);

  options.keep_duplicates = true;
  const AmazonImport all = import_amazon_reviews(dir + "/reviews.json", options);
  EXPECT_EQ(all.records.size(), 6u);
  EXPECT_EQ(all.duplicate_pairs + all.duplicate_texts, 0);
}

TEST(AmazonImport, BadInputNamesFileAndLine) {
  const std::string dir = test::scratch_dir();
  write_gzip(dir + "/bad.json.gz", review("U1", "I1", 5, "Great sound.") + "{not json\n");
  try {
    import_amazon_reviews(dir + "/bad.json.gz", {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json.gz:line 2"), std::string::npos) << e.what();
  }
  write_gzip(dir + "/rating.json.gz",
             "{\"reviewerID\": \"U1\", \"asin\": \"I1\", \"overall\": 9}\n");
  EXPECT_THROW(import_amazon_reviews(dir + "/rating.json.gz", {}), Error);
  EXPECT_THROW(import_amazon_reviews(dir + "/missing.json.gz", {}), Error);
  test::write_text(dir + "/truncated.json.gz", std::string("\x1f\x8b\x08\x00\x00\x00", 6));
  EXPECT_THROW(import_amazon_reviews(dir + "/truncated.json.gz", {}), Error);
}

TEST(AmazonImport, RealMusicalInstrumentsIsDeterministicAndFast) {
  GAVAMOE_REQUIRE_DATASETS(datasets);
  const std::string path =
      datasets + "/amazon_musical_instruments_5core/reviews_Musical_Instruments_5.json.gz";
  const auto start = std::chrono::steady_clock::now();
  const AmazonImport a = import_amazon_reviews(path, {});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 30.0);
  EXPECT_EQ(a.reviews, 10261);
  EXPECT_GT(a.records.size(), 6000u);
  EXPECT_GT(a.features.size(), 100u);
  const AmazonImport b = import_amazon_reviews(path, {});
  ASSERT_EQ(a.records.size(), b.records.size());
  for (size_t r = 0; r < a.records.size(); ++r)
    ASSERT_EQ(record_to_json_line(a.records[r]), record_to_json_line(b.records[r]));
}

}  // namespace
}  // namespace gavamoe
