// Corpus BLEU (TF/NMT compute_bleu); see bleu.hpp. The arithmetic follows the published code
// operation by operation so that results agree to the last bit.
#include "gavamoe/eval/bleu.hpp"

#include <algorithm>
#include <cmath>

#include "gavamoe/eval/ngram.hpp"

namespace gavamoe::eval {

BleuCounts bleu_counts(const std::vector<Sentence>& references,
                       const std::vector<Sentence>& hypotheses, int max_order) {
  BleuCounts counts;
  counts.matches.assign(max_order, 0);
  counts.possible.assign(max_order, 0);
  const size_t n = std::min(references.size(), hypotheses.size());
  for (size_t i = 0; i < n; ++i) {
    const Sentence& ref = references[i];
    const Sentence& hyp = hypotheses[i];
    counts.reference_length += static_cast<int64_t>(ref.size());
    counts.hypothesis_length += static_cast<int64_t>(hyp.size());
    for (int order = 1; order <= max_order; ++order) {
      const int64_t possible = static_cast<int64_t>(hyp.size()) - order + 1;
      if (possible <= 0) break;  // longer orders have no n-grams either
      counts.possible[order - 1] += possible;
      counts.matches[order - 1] += ngram_overlap(hyp, ref, order).clipped_matches;
    }
  }
  return counts;
}

double bleu_from_counts(const BleuCounts& counts, int max_order, bool smooth) {
  double log_sum = 0.0;
  bool any_zero = false;
  for (int k = 0; k < max_order; ++k) {
    const auto matches = static_cast<double>(counts.matches[k]);
    const auto possible = static_cast<double>(counts.possible[k]);
    double precision;
    if (smooth)
      precision = (matches + 1.0) / (possible + 1.0);
    else
      precision = counts.possible[k] > 0 ? matches / possible : 0.0;
    if (precision <= 0.0)
      any_zero = true;
    else
      log_sum += (1.0 / max_order) * std::log(precision);
  }
  const double geo_mean = any_zero ? 0.0 : std::exp(log_sum);
  double brevity_penalty;
  if (counts.hypothesis_length == 0) {
    brevity_penalty = 0.0;
  } else if (counts.reference_length == 0) {
    brevity_penalty = 1.0;
  } else {
    const double ratio = static_cast<double>(counts.hypothesis_length) /
                         static_cast<double>(counts.reference_length);
    brevity_penalty = ratio > 1.0 ? 1.0 : std::exp(1.0 - 1.0 / ratio);
  }
  return geo_mean * brevity_penalty;
}

double corpus_bleu(const std::vector<Sentence>& references, const std::vector<Sentence>& hypotheses,
                   int max_order, bool smooth) {
  return bleu_from_counts(bleu_counts(references, hypotheses, max_order), max_order, smooth);
}

}  // namespace gavamoe::eval
