// ROUGE-N on n-gram sets and sentence-level ROUGE-L; see rouge.hpp. Floating-point operations
// follow the published code in the same order.
#include "gavamoe/eval/rouge.hpp"

#include <algorithm>

#include "gavamoe/eval/ngram.hpp"

namespace gavamoe::eval {
namespace {

const Sentence& words_of(const Sentence& tokens) {
  static const Sentence empty_text = {kEmptyWord};
  return tokens.empty() ? empty_text : tokens;
}

void add(PrfScore& sum, const PrfScore& score) {
  sum.f += score.f;
  sum.p += score.p;
  sum.r += score.r;
}

PrfScore mean_of(const PrfScore& sum, size_t n) {
  const double count = static_cast<double>(n);
  return {sum.f / count, sum.p / count, sum.r / count};
}

}  // namespace

size_t lcs_length(const Sentence& x, const Sentence& y) {
  thread_local std::vector<uint32_t> row;  // row[j]: LCS of the x prefix read so far and y[:j]
  row.assign(y.size() + 1, 0);
  for (uint32_t xi : x) {
    uint32_t diagonal = 0;  // previous row's value at j-1
    for (size_t j = 1; j <= y.size(); ++j) {
      const uint32_t above = row[j];
      row[j] = (xi == y[j - 1]) ? diagonal + 1 : std::max(above, row[j - 1]);
      diagonal = above;
    }
  }
  return row[y.size()];
}

PrfScore rouge_n(const Sentence& hypothesis, const Sentence& reference, int n) {
  const NgramOverlap overlap = ngram_overlap(words_of(hypothesis), words_of(reference), n);
  const double common = static_cast<double>(overlap.distinct_common);
  PrfScore score;
  score.p = overlap.distinct_a == 0 ? 0.0 : common / static_cast<double>(overlap.distinct_a);
  score.r = overlap.distinct_b == 0 ? 0.0 : common / static_cast<double>(overlap.distinct_b);
  score.f = 2.0 * ((score.p * score.r) / (score.p + score.r + 1e-8));
  return score;
}

PrfScore rouge_l(const Sentence& hypothesis, const Sentence& reference) {
  const Sentence& hyp = words_of(hypothesis);
  const Sentence& ref = words_of(reference);
  const double lcs = static_cast<double>(lcs_length(hyp, ref));
  PrfScore score;
  score.r = lcs / static_cast<double>(ref.size());
  score.p = lcs / static_cast<double>(hyp.size());
  const double beta = score.p / (score.r + 1e-12);
  const double numerator = (1.0 + beta * beta) * score.r * score.p;
  const double denominator = score.r + (beta * beta) * score.p;
  score.f = numerator / (denominator + 1e-12);
  return score;
}

RougeScores mean_rouge(const std::vector<Sentence>& references,
                       const std::vector<Sentence>& hypotheses) {
  RougeScores sum;
  const size_t n = std::min(references.size(), hypotheses.size());
  for (size_t i = 0; i < n; ++i) {
    add(sum.rouge_1, rouge_n(hypotheses[i], references[i], 1));
    add(sum.rouge_2, rouge_n(hypotheses[i], references[i], 2));
    add(sum.rouge_l, rouge_l(hypotheses[i], references[i]));
  }
  return {mean_of(sum.rouge_1, n), mean_of(sum.rouge_2, n), mean_of(sum.rouge_l, n)};
}

}  // namespace gavamoe::eval
