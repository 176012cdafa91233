// N-gram overlap of two sentences, the one primitive behind BLEU and ROUGE-N.
//
// BLEU needs clipped matches (sum over n-grams of min(count in a, count in b)); ROUGE-N needs
// n-gram sets (distinct n-grams of each side and how many they share). Both come from one
// merge of the two sentences' n-grams sorted by content: exact, no hashing.
#pragma once

#include <cstdint>

#include "gavamoe/eval/corpus.hpp"

namespace gavamoe::eval {

struct NgramOverlap {
  int64_t clipped_matches = 0;  // sum over n-grams of min(count in a, count in b)
  int64_t distinct_a = 0;       // |set of n-grams of a|
  int64_t distinct_b = 0;
  int64_t distinct_common = 0;  // |set(a) ∩ set(b)|
};

NgramOverlap ngram_overlap(const Sentence& a, const Sentence& b, int n);

}  // namespace gavamoe::eval
