// BLEU, ROUGE, explainability and rating metrics on small hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "gavamoe/eval/bleu.hpp"
#include "gavamoe/eval/explainability.hpp"
#include "gavamoe/eval/ngram.hpp"
#include "gavamoe/eval/rating_metrics.hpp"
#include "gavamoe/eval/rouge.hpp"

namespace gavamoe::eval {
namespace {

struct Encoded {
  Vocabulary vocab;
  std::vector<Sentence> refs, hyps;
};

Encoded encode_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Encoded e;
  for (const auto& [ref, hyp] : pairs) {
    e.refs.push_back(encode(ref, e.vocab));
    e.hyps.push_back(encode(hyp, e.vocab));
  }
  return e;
}

TEST(Ngram, ClippedMatchesAndSets) {
  Vocabulary vocab;
  const Sentence a = encode("a b a b a", vocab), b = encode("a b b", vocab);
  const NgramOverlap unigrams = ngram_overlap(a, b, 1);
  EXPECT_EQ(unigrams.clipped_matches, 1 + 2);  // a: min(3,1), b: min(2,2)
  EXPECT_EQ(unigrams.distinct_a, 2);
  EXPECT_EQ(unigrams.distinct_common, 2);
  const NgramOverlap bigrams = ngram_overlap(a, b, 2);  // ab ba ab ba | ab bb
  EXPECT_EQ(bigrams.clipped_matches, 1);
  EXPECT_EQ(bigrams.distinct_a, 2);
  EXPECT_EQ(bigrams.distinct_b, 2);
  EXPECT_EQ(ngram_overlap(a, b, 6).distinct_a, 0);
}

TEST(Bleu, IdenticalIsOne) {
  const Encoded e = encode_pairs({{"the room is clean", "the room is clean"}});
  EXPECT_DOUBLE_EQ(corpus_bleu(e.refs, e.hyps, 1, false), 1.0);
  EXPECT_DOUBLE_EQ(corpus_bleu(e.refs, e.hyps, 4, false), 1.0);
}

TEST(Bleu, NoOverlapIsZeroUnlessSmoothed) {
  const Encoded e = encode_pairs({{"a b", "c d"}});
  EXPECT_EQ(corpus_bleu(e.refs, e.hyps, 1, false), 0.0);
  EXPECT_DOUBLE_EQ(corpus_bleu(e.refs, e.hyps, 1, true), 1.0 / 3.0);  // (0+1)/(2+1), bp 1
}

TEST(Bleu, EmptyGenerationHasZeroBrevityPenalty) {
  const Encoded e = encode_pairs({{"good hotel", ""}, {"nice", ""}});
  EXPECT_EQ(corpus_bleu(e.refs, e.hyps, 1, false), 0.0);
  EXPECT_EQ(corpus_bleu(e.refs, e.hyps, 4, true), 0.0);
}

TEST(Bleu, ReferenceShorterThanHypothesis) {
  const Encoded e = encode_pairs({{"good hotel", "good hotel good hotel"}});
  EXPECT_DOUBLE_EQ(corpus_bleu(e.refs, e.hyps, 1, false), 0.5);  // clipped 2 of 4, bp 1
  EXPECT_EQ(corpus_bleu(e.refs, e.hyps, 4, false), 0.0);         // no trigram matches
  // Smoothed: (3/5 * 2/4 * 1/3 * 1/2)^(1/4).
  EXPECT_NEAR(corpus_bleu(e.refs, e.hyps, 4, true), std::pow(0.05, 0.25), 1e-15);
}

TEST(Bleu, HypothesisShorterThanReference) {
  const Encoded e = encode_pairs({{"the staff were very helpful", "the staff"}});
  EXPECT_DOUBLE_EQ(corpus_bleu(e.refs, e.hyps, 1, false), std::exp(1.0 - 1.0 / 0.4));
}

TEST(Rouge, IdenticalPair) {
  Vocabulary vocab;
  const Sentence s = encode("a b c", vocab);
  const PrfScore r1 = rouge_n(s, s, 1);
  EXPECT_EQ(r1.p, 1.0);
  EXPECT_EQ(r1.r, 1.0);
  EXPECT_DOUBLE_EQ(r1.f, 2.0 / (2.0 + 1e-8));
  const PrfScore rl = rouge_l(s, s);
  EXPECT_EQ(rl.p, 1.0);
  EXPECT_NEAR(rl.f, 1.0, 1e-11);
}

TEST(Rouge, EmptyGenerationIsOneEmptyWord) {
  Vocabulary vocab;
  const Sentence empty = encode("", vocab), good = encode("good", vocab);
  for (int n : {1, 2}) {
    const PrfScore score = rouge_n(empty, good, n);
    EXPECT_EQ(score.f, 0.0);
    EXPECT_EQ(score.p, 0.0);
    EXPECT_EQ(score.r, 0.0);
  }
  EXPECT_EQ(rouge_l(empty, good).f, 0.0);
  // Two empty texts share their one empty word.
  EXPECT_EQ(rouge_n(empty, empty, 1).p, 1.0);
  EXPECT_EQ(rouge_n(empty, empty, 2).p, 0.0);
  EXPECT_EQ(rouge_l(empty, empty).r, 1.0);
}

TEST(Rouge, NgramSetsAndLcsF) {
  Vocabulary vocab;
  const Sentence hyp = encode("the the the", vocab), ref = encode("the cat", vocab);
  const PrfScore r1 = rouge_n(hyp, ref, 1);  // sets {the} and {the, cat}
  EXPECT_EQ(r1.p, 1.0);
  EXPECT_EQ(r1.r, 0.5);
  EXPECT_DOUBLE_EQ(r1.f, 2.0 * (0.5 / (1.5 + 1e-8)));
  const PrfScore rl = rouge_l(hyp, ref);  // lcs 1: R 1/2, P 1/3, beta 2/3, F 13/35
  EXPECT_DOUBLE_EQ(rl.r, 0.5);
  EXPECT_DOUBLE_EQ(rl.p, 1.0 / 3.0);
  EXPECT_NEAR(rl.f, 13.0 / 35.0, 1e-11);
}

TEST(Rouge, UnicodeWords) {
  Vocabulary vocab;
  const Sentence hyp = encode("caf\u00e9 \u2615 \u4e2d\u6587", vocab);
  const Sentence ref = encode("caf\u00e9 \u4e2d\u6587", vocab);
  const PrfScore r1 = rouge_n(hyp, ref, 1);
  EXPECT_DOUBLE_EQ(r1.p, 2.0 / 3.0);
  EXPECT_EQ(r1.r, 1.0);
  EXPECT_EQ(lcs_length(hyp, ref), 2u);
}

TEST(Rouge, MeanOverPairs) {
  const Encoded e = encode_pairs({{"a b", "a b"}, {"a b", "c"}});
  const RougeScores mean = mean_rouge(e.refs, e.hyps);
  EXPECT_DOUBLE_EQ(mean.rouge_1.p, 0.5);
  EXPECT_DOUBLE_EQ(mean.rouge_l.r, 0.5);
}

TEST(Explainability, UniqueSentencesCompareTokens) {
  Vocabulary vocab;
  // "a b" and "a  b" have the same tokens.
  const std::vector<Sentence> gen = {encode("a b", vocab), encode("a b", vocab),
                                     encode("a  b", vocab), encode("b a", vocab)};
  EXPECT_DOUBLE_EQ(unique_sentence_ratio(gen), 0.5);
}

TEST(Explainability, FeatureMetrics) {
  Vocabulary vocab;
  const uint32_t room = vocab.intern("room"), staff = vocab.intern("staff"),
                 pool = vocab.intern("pool");
  const std::vector<Sentence> gen = {encode("room and staff , room", vocab),
                                     encode("the staff", vocab), encode("staff room", vocab),
                                     encode("nothing here", vocab)};
  std::vector<char> is_feature(vocab.size(), 0);
  for (uint32_t id : {room, staff, pool}) is_feature[id] = 1;
  const auto found = detect_features(gen, is_feature);
  ASSERT_EQ(found[0], (std::vector<uint32_t>{std::min(room, staff), std::max(room, staff)}));
  EXPECT_TRUE(found[3].empty());
  EXPECT_DOUBLE_EQ(feature_matching_ratio(found, {room, room, pool, staff}), 0.25);
  EXPECT_DOUBLE_EQ(feature_coverage_ratio(found, 3), 2.0 / 3.0);
  // Pairs sharing features: (0,1) 1, (0,2) 2, (1,2) 1 -> 4 over 6 pairs.
  EXPECT_DOUBLE_EQ(feature_diversity(found), 4.0 / 6.0);
  EXPECT_EQ(feature_diversity({found[0]}), 0.0);
}

TEST(Explainability, DistinctN) {
  Vocabulary vocab;
  const std::vector<Sentence> gen = {encode("a b a b", vocab), encode("a", vocab),
                                     encode("", vocab)};
  EXPECT_DOUBLE_EQ(distinct_n(gen, 1), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(distinct_n(gen, 2), 2.0 / 3.0);
  EXPECT_EQ(distinct_n({encode("", vocab)}, 2), 0.0);
}

TEST(RatingMetrics, PredictionsAreClippedToTheRange) {
  const RatingErrors errors = rating_errors({1, 5, 3}, {0, 6.5, 3.5}, 1, 5);
  EXPECT_DOUBLE_EQ(errors.mae, 0.5 / 3);
  EXPECT_DOUBLE_EQ(errors.rmse, std::sqrt(0.25 / 3));
}

}  // namespace
}  // namespace gavamoe::eval
