// Alignment metrics: RecExplainer's scores of the alignment tasks (src/inference.py,
// calculate_rec_metrics and calculate_rank_metrics), computed the way the original code computes
// them, with no model involved. The caller decodes the generated tokens and passes the text here.
//
// Text rules (Python's str.strip().lower() on the original's side):
//   * strip removes leading and trailing ASCII whitespace: space, \t \n \v \f \r and \x1c..\x1f
//     (Python counts those four separators as whitespace too). Non-ASCII whitespace such as
//     U+00A0 or U+3000 is kept, where Python would strip it.
//   * lower maps ASCII A..Z to a..z and leaves every other byte as it is, so UTF-8 sequences
//     pass through untouched (Python would also lower-case non-ASCII letters, e.g. "É").
//   * split(text, "; ") is Python's str.split with that separator: "" -> [""], "a; " ->
//     ["a", ""], "a; ; b" -> ["a", "", "b"].
// Every title, label and prediction is compared after strip + lower, as the original compares
// `.strip().lower()` predictions with lower-cased ground truth.
//
// Metrics by task:
//   uid2next      next_item_hit_ndcg: the 5 beams against title(top1); hit and 1/log2(j+2)
//   uidiid2rank   rank_ndcg: graded NDCG@5 with rel [1000, 100, 10, 1, 0] by label position
//   uidiid2binary binary_correct: logit(Yes) >= logit(No) for a Yes label (a tie is Yes)
//   uid2hist      history_coverage
//   iid2title     title_accuracy (and iid2sim, feature2iid, ...: the same exact match)
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gavamoe {

constexpr int kAlignTopK = 5;  // HR@5, NDCG@5 and the five titles of uidiid2rank

// Python's text.strip().lower() (ASCII letters only, see above).
std::string normalise_answer(const std::string& text);
// Python's text.split(separator); separator must not be empty.
std::vector<std::string> split_text(const std::string& text, const std::string& separator);

// The answer of a generated text: everything before the first occurrence of each end marker
// in turn (text.split(marker)[0] for each marker, in the order given), then strip + lower.
// `decoded` is the decoding of the new tokens only, so no assistant header is removed.
std::string generated_answer(const std::string& decoded,
                             const std::vector<std::string>& end_markers);

struct HitNdcg {
  double hit = 0;
  double ndcg = 0;
};
// uid2next: beams in beam order (the first kAlignTopK count); hit = 1 if one equals the label,
// ndcg = 1/log2(j+2) for the first beam j that does (IDCG = 1).
HitNdcg next_item_hit_ndcg(const std::vector<std::string>& beams, const std::string& label);

// uidiid2rank: preds = split(prediction, "; "), each normalised, the first kAlignTopK kept;
// labels = the titles in the model's order. For each label i in order, the first prediction
// position j not used yet whose title equals it adds rel[i]/log2(j+2); the sum is divided by
// IDCG = sum over i < len(labels) of rel[i]/log2(i+2). With 5 labels (always so in the
// original) IDCG = 1068.524, the original's constant; with fewer labels the first len(labels)
// rel values are used. More than kAlignTopK labels is a gavamoe::Error (the original would
// index past rel), and no labels give 0.
double rank_ndcg(const std::string& prediction, const std::vector<std::string>& labels);

// uid2hist: ans = the normalised history titles; every p in split(prediction, "; ")[:len(ans)]
// whose normalised text is in ans adds 1/len(ans) (accumulated as the original does, so a
// prediction repeated k times counts k times). An empty history gives 0.
double history_coverage(const std::string& prediction, const std::vector<std::string>& history);

// iid2title and the other one-title tasks: 1 if the normalised texts are equal, else 0.
double title_accuracy(const std::string& prediction, const std::string& title);

// uidiid2binary, from the logits of the Yes and No tokens at the last prompt position:
// label Yes -> logit_yes >= logit_no; label No -> logit_yes < logit_no (a tie counts as Yes).
double binary_correct(double logit_yes, double logit_no, bool label_yes);

// Chance levels, for reference lines next to the measured numbers.
// The expected rank_ndcg when the prediction is a uniformly random order of `n_labels` (1..5)
// distinct label titles, computed exactly: every label is equally likely at each position, so
// it is (sum_i rel[i]) * mean_j 1/log2(j+2) / IDCG; 0.6131 for 5 labels.
double random_rank_ndcg(int n_labels = kAlignTopK);
// uid2next, when the 5 beams are distinct items drawn uniformly from `n_items` (>= 1) items:
// HR@5 = min(5, n_items)/n_items and NDCG@5 = (sum over j < min(5, n_items) of 1/log2(j+2))
// / n_items.
HitNdcg random_next_item_hit_ndcg(int64_t n_items);
// uidiid2binary: half of the Yes/No questions right.
constexpr double kRandomBinaryAccuracy = 0.5;

// The mean of each metric per task over the samples added.
class AlignMetricMeans {
 public:
  // One sample of `task` with its metric values (e.g. {"hit", 1}, {"ndcg", 0.63}); a metric
  // named "samples" is a gavamoe::Error.
  void add(const std::string& task, const std::map<std::string, double>& metrics);
  // {task: {metric: mean, "samples": n}}; a metric's mean is over the samples of the task that
  // have it, "samples" counts every add of the task. Tasks and metrics in name order.
  nlohmann::json to_json() const;

 private:
  struct Sums {
    std::map<std::string, double> sum;
    std::map<std::string, int64_t> count;
    int64_t samples = 0;
  };
  std::map<std::string, Sums> tasks_;
};

}  // namespace gavamoe
