// Opinion lexicon: English opinion adjectives with their polarity, and negation words.
//
// The list is the project's own, curated for product and service reviews; it is compiled into
// the binary so that import needs no download. Words are lowercase ASCII.
#pragma once

#include <string>

namespace gavamoe {

// +1 for a positive opinion word, -1 for a negative one, 0 for any other word.
int opinion_polarity(const std::string& word);

// Words that flip the polarity of an opinion word shortly after them ("not", "isn't", "never").
bool is_negation(const std::string& word);

// Number of positive and negative entries (for documentation and tests).
int opinion_word_count(int polarity);

}  // namespace gavamoe
