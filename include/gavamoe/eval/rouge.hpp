// ROUGE-1, ROUGE-2 and ROUGE-L as PEPLER computes them (google seq2seq rouge.py): per pair,
// then the mean over pairs.
//
// Words are the tokens; an empty text is the single empty word (kEmptyWord), as " ".join and
// split(" ") make it. ROUGE-N works on n-gram sets: P = |G∩R|/|G|, R = |G∩R|/|R| (0 when the
// set is empty), F = 2PR/(P+R+1e-8). ROUGE-L on the LCS of the words: R = lcs/m, P = lcs/n
// (m reference words, n generated words), beta = P/(R+1e-12),
// F = (1+beta²)RP / (R+beta²P+1e-12). Values are in [0, 1]; PEPLER prints them x100.
#pragma once

#include <vector>

#include "gavamoe/eval/corpus.hpp"

namespace gavamoe::eval {

struct PrfScore {
  double f = 0.0;
  double p = 0.0;
  double r = 0.0;
};

struct RougeScores {
  PrfScore rouge_1, rouge_2, rouge_l;
};

// Length of the longest common subsequence of two id sequences.
size_t lcs_length(const Sentence& x, const Sentence& y);

// One pair; `hypothesis` and `reference` are token ids (an empty one becomes {kEmptyWord}).
PrfScore rouge_n(const Sentence& hypothesis, const Sentence& reference, int n);
PrfScore rouge_l(const Sentence& hypothesis, const Sentence& reference);

// Means over pairs i of the scores of (hypotheses[i], references[i]).
RougeScores mean_rouge(const std::vector<Sentence>& references,
                       const std::vector<Sentence>& hypotheses);

}  // namespace gavamoe::eval
