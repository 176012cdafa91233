// Import of raw Amazon 5-core reviews into explanation records.
//
// Input: JSON lines, plain or gzipped (.json / .json.gz), each with reviewerID, asin,
// overall (1-5), reviewText and unixReviewTime (other keys are ignored). Repeated reviews
// (the same (user, item), or the same user and normalised text under another item, as the
// 2018 dumps have for product variants) are dropped, the earliest kept, unless
// keep_duplicates. Output: at most one record per kept review:
// the clause of the review that pairs a frequent feature term with an opinion word from the
// project's lexicon at the smallest distance. The opinion word is the adjective; its polarity,
// flipped by a negation just before it ("not good"), is the sentiment. The feature vocabulary
// is mined from the corpus itself: words and bigrams near opinion words that are not stop or
// opinion words, that behave like nouns (often after a determiner or opinion adjective, seldom
// after "is" or "very"), and that occur near an opinion word in at least min_feature_count
// clauses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/data/record.hpp"

namespace gavamoe {

struct AmazonImportOptions {
  int min_feature_count = 20;  // clauses in which a term sits near an opinion word
  int max_distance = 4;        // at most this many words between feature and opinion word
  int max_clause_words = 25;   // longer clauses are not used as explanations
  // Keep every review, also repeats of an earlier (user, item) or (user, text) (by default
  // the earliest of each is kept: repeats put copies of one review on both sides of a split).
  bool keep_duplicates = false;
};

struct AmazonImport {
  std::vector<Record> records;        // in review order
  std::vector<std::string> features;  // the mined feature vocabulary, sorted
  int64_t reviews = 0;                // reviews read
  int64_t duplicate_pairs = 0;        // dropped: an earlier review of the same (user, item)
  int64_t duplicate_texts = 0;        // dropped: an earlier review by the user with this text
  int64_t reviews_without_record = 0;
};

// The whole content of a gzipped or plain file (gzip is detected, not guessed from the name);
// a truncated or corrupt stream is an error naming the file and the byte.
std::string read_maybe_gzipped(const std::string& path);

// Reads `path` (.json or .json.gz). Errors name the file and line.
AmazonImport import_amazon_reviews(const std::string& path, const AmazonImportOptions& options);

// The steps, exposed for tests. A clause is a sentence, or a part of one after a comma that
// starts a new clause (", but ..."); the text is split at . ! ? ; and line breaks, also where
// a sentence end lacks its space ("affordable.I did").
std::vector<std::string> split_clauses(const std::string& text);
// Lowercase word tokens: letters, digits, inner apostrophes and hyphens; ’ reads as '.
std::vector<std::string> tokenize_words(const std::string& clause);

}  // namespace gavamoe
