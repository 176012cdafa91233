// Corpus BLEU as the TF/NMT compute_bleu that PEPLER and PETER report.
//
// One reference per hypothesis. Clipped n-gram matches and possible matches are summed over
// the corpus per order 1..max_order; precision p_k = matches/possible (0 when nothing is
// possible), or (matches+1)/(possible+1) when smoothed; BLEU = exp(sum_k log(p_k)/max_order)
// times the brevity penalty, 0 when any p_k is 0. Brevity penalty with c generated and r
// reference tokens: 1 when c/r > 1, else exp(1 - 1/(c/r)). Where the published code divides
// by zero: c = 0 gives bp = 0 (the limit), r = 0 < c gives bp = 1.
// The result is in [0, 1]; PEPLER prints it x100.
#pragma once

#include <vector>

#include "gavamoe/eval/corpus.hpp"

namespace gavamoe::eval {

// Corpus totals for orders 1..max_order; BLEU of any lower order reads the same totals.
struct BleuCounts {
  std::vector<int64_t> matches;   // clipped n-gram matches per order
  std::vector<int64_t> possible;  // hypothesis n-grams per order
  int64_t reference_length = 0;
  int64_t hypothesis_length = 0;
};

BleuCounts bleu_counts(const std::vector<Sentence>& references,
                       const std::vector<Sentence>& hypotheses, int max_order);
// BLEU over orders 1..max_order (at most the order the counts were made for).
double bleu_from_counts(const BleuCounts& counts, int max_order, bool smooth);

double corpus_bleu(const std::vector<Sentence>& references, const std::vector<Sentence>& hypotheses,
                   int max_order, bool smooth);

}  // namespace gavamoe::eval
