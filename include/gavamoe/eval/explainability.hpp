// Explainability and diversity metrics of generated explanations (PEPLER/PETER definitions).
//
//   USR  distinct generated token sequences / N
//   feature detection: per generation, the set of its tokens that are in the feature set
//   FMR  share of records whose own feature is in that set
//   FCR  |union of those sets| / |feature set|
//   DIV  sum over pairs i<j of |F_i ∩ F_j| / (N(N-1)/2); lower is better; 0 when N < 2
//   Distinct-n  distinct n-grams / n-grams over all generations; 0 when there are none
// The published USR and DIV loops are quadratic in N; these are linear (hash set of sentences;
// DIV = sum over features of C(k_f, 2), k_f the number of generations holding feature f).
#pragma once

#include <cstdint>
#include <vector>

#include "gavamoe/eval/corpus.hpp"

namespace gavamoe::eval {

double unique_sentence_ratio(const std::vector<Sentence>& generated);

// is_feature[id] != 0 for the ids of the feature set (ids past its end are not features).
// Returns each generation's feature ids, sorted and distinct.
std::vector<std::vector<uint32_t>> detect_features(const std::vector<Sentence>& generated,
                                                   const std::vector<char>& is_feature);

// record_feature[i]: the id of record i's own feature.
double feature_matching_ratio(const std::vector<std::vector<uint32_t>>& found,
                              const std::vector<uint32_t>& record_feature);
double feature_coverage_ratio(const std::vector<std::vector<uint32_t>>& found,
                              size_t feature_set_size);
double feature_diversity(const std::vector<std::vector<uint32_t>>& found);

double distinct_n(const std::vector<Sentence>& generated, int n);

}  // namespace gavamoe::eval
