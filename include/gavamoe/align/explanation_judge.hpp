// Explanation judging without a judge model: the offline substitutes of RecExplainer's
// explanation evaluation (preprocess/eval_explan.py, discriminator/run_cls.py), in four parts.
//
// 1. The decision. explanation_decision reads the Yes/No an explainer gives at the start of its
//    output; rule_grade_a is the part of the GPT-4 A-D grade a rule can compute exactly: "A"
//    (incorrect classification) when that decision is not the recommender's label.
// 2. The judge prompt (eval_data_gen's template, verbatim) and the grade of a judge's reply
//    (eval_metric), for running the same protocol with a local judge model.
// 3. Grounding proxies: the share of history titles the explanation mentions, whether it
//    mentions the target, and how many of the catalogue titles it mentions are neither
//    (hallucination).
// 4. The distinction classifier and the score predictor on TF-IDF features: the original trains
//    bert-base-uncased; here multinomial logistic regression (which explainer wrote a text:
//    accuracy and per-block predicted counts) and ridge regression (the recommender's raw
//    score of the (user, item) pair: test MSE), with the original's split protocol.
//
// Text is handled as bytes: lower-casing maps ASCII A..Z only, and every non-ASCII byte is a
// separator for words and tokens (so a title in curly quotes is still found).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace gavamoe {

// ---- 1. Decision ----

enum class ExplanationDecision { none = 0, yes = 1, no = 2 };
const char* explanation_decision_name(ExplanationDecision decision);  // "none", "yes", "no"

// The rule, in order:
//  a. skip leading filler: whitespace and the characters * _ # > ` " ' - ( [ { : | ~ =
//     (markdown emphasis, headings, quotes, list marks);
//  b. if the text then starts with a label word, "answer", "final answer", "decision",
//     "prediction", "recommendation" or "verdict" (any case), followed by optional spaces,
//     '*' or '_' and a ':', skip through the ':' and skip filler again (line breaks included,
//     so "**Answer:**\nYes" reads Yes);
//  c. the first sentence runs from there to the first '.', '!', '?' or line break;
//  d. its words are the maximal runs of ASCII letters and digits; the first word that is "yes"
//     or "no" in any case is the decision ("Yes, ..." "No." "I think yes" "The answer is no");
//     none if there is neither ("Not really", "Yesterday", an empty text).
ExplanationDecision explanation_decision(const std::string& text);

// True when the rule-computable grade is A: the decision is not the label (none counts as A).
bool rule_grade_a(ExplanationDecision decision, bool label_yes);

// ---- 2. Judge prompt ----

// eval_data_gen's prompt with {0} = ", ".join(history), {1} = target, {2} = "Yes" / "No" (the
// recommender's label), {3} = the explainer's output.
std::string judge_prompt(const std::vector<std::string>& history, const std::string& target,
                         bool label_yes, const std::string& output);
// eval_metric's reading of a judge reply: 'A'..'D' when the whole reply, stripped and
// lower-cased, is "<score>a</score>" .. "<score>d</score>", else 0 (the original prints
// "error"). With `lenient`, the first "<score>X</score>" anywhere in the reply (any case,
// X one of A..D) counts, for local judges that write more than the tag.
char judge_grade(const std::string& reply, bool lenient = false);

// ---- 3. Grounding ----

// Finds catalogue titles in texts. Each distinct title (strip + ASCII lower, so repeated titles
// of different ids are one title) is searched in up to three forms:
//   * the title itself, "toy story (1995)";
//   * without a trailing " (dddd)" year, "toy story";
//   * with a trailing article moved to the front (MovieLens style): "shawshank redemption,
//     the (1994)" -> "the shawshank redemption"; articles: the a an les la le il el das der
//     die los las, and "l'" (joined without a space).
// A short form (the last two) is kept only when it has at least `min_short_form_words` words;
// single-word short forms ("heat", "kids") are common words, so raising this to 2 trades
// missed mentions for fewer false ones. A form matches where it occurs in the ASCII
// lower-cased text at word boundaries (the bytes before and after are not ASCII letters or
// digits, where the form's own first / last byte is one), so "heat" is not found in
// "theater". Overlapping matches are resolved leftmost-longest: "batman returns" is one
// mention of Batman Returns, not also of Batman. All forms go into one Aho-Corasick automaton,
// built once, so a text is scanned once whatever the catalogue size.
class TitleMatcher {
 public:
  explicit TitleMatcher(const std::vector<std::string>& catalogue, int min_short_form_words = 1);

  size_t titles() const { return titles_.size(); }
  const std::string& title(size_t id) const { return titles_[id]; }
  // The id of a title (normalised as above), or -1 if it is not in the catalogue.
  int64_t find(const std::string& title) const;
  // The titles `text` mentions, in order of first mention: for each match, the ids of the
  // titles its form can stand for (more than one only for a shared short form, e.g. "hamlet"),
  // each such list once.
  std::vector<std::vector<int32_t>> mentions(const std::string& text) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
    int32_t fail = 0;
    int32_t form = -1;    // the form ending here
    int32_t output = -1;  // the nearest node on the fail chain with a form
  };
  int32_t step(int32_t node, unsigned char c) const;

  std::vector<std::string> titles_;
  std::vector<std::string> forms_;
  std::vector<std::vector<int32_t>> form_titles_;
  std::vector<Node> nodes_;
};

struct Grounding {
  int64_t history_titles = 0;     // distinct history titles
  int64_t history_mentioned = 0;  // of those, mentioned
  double history_share = 0;       // history_mentioned / history_titles (0 with no history)
  bool target_mentioned = false;
  int64_t mentioned = 0;          // distinct catalogue titles mentioned
  int64_t hallucinated = 0;       // of those, neither in the history nor the target
  double hallucination_rate = 0;  // hallucinated / mentioned (0 when nothing is mentioned)
};
// A matched form that can stand for several titles counts as those of them in the history or
// the target when there are any, else as its first title. History and target titles must be in
// the matcher's catalogue (else a gavamoe::Error).
Grounding grounding(const TitleMatcher& matcher, const std::string& text,
                    const std::vector<std::string>& history, const std::string& target);
// The same with a matcher built for this one call (build one TitleMatcher for many texts).
Grounding grounding(const std::string& text, const std::vector<std::string>& history,
                    const std::string& target, const std::vector<std::string>& catalogue);

// ---- 4. TF-IDF and the linear models ----

// (feature, value) pairs, features ascending.
using SparseRow = std::vector<std::pair<int32_t, double>>;

// The tokens of a text: ASCII lower-case, then the maximal runs of [a-z0-9] (sklearn's
// TfidfVectorizer(lowercase=True, token_pattern=r"[a-z0-9]+") on ASCII text).
std::vector<std::string> tfidf_tokens(const std::string& text);

// sklearn's TfidfVectorizer defaults otherwise: raw term counts, idf = ln((1 + n) / (1 + df))
// + 1 over the n fitted texts, each row divided by its L2 norm (an empty row stays empty).
// The vocabulary is the fitted texts' tokens in byte order (sklearn's sorted vocabulary_);
// tokens unseen in fitting are dropped.
class TfidfVectorizer {
 public:
  void fit(const std::vector<std::string>& texts);
  SparseRow transform(const std::string& text) const;
  std::vector<SparseRow> transform(const std::vector<std::string>& texts) const;
  size_t features() const { return terms_.size(); }
  const std::string& term(int32_t feature) const { return terms_[feature]; }
  double idf(int32_t feature) const { return idf_[feature]; }
  int32_t feature(const std::string& term) const;  // -1 if not in the vocabulary

 private:
  std::vector<std::string> terms_;  // sorted
  std::vector<double> idf_;
};

// Multinomial logistic regression, sklearn's objective: minimise C * sum_i CE(softmax(W x_i +
// b), y_i) + ||W||^2 / 2 (the intercepts b are not penalised), by Nesterov-accelerated
// gradient descent with step 1/L (L from the largest row norm), from zeros, until the largest
// gradient entry of the mean objective is below `tolerance` or after `max_iterations`.
// Deterministic: one thread, fixed summation order.
struct LogisticOptions {
  double c = 1.0;
  int max_iterations = 2000;
  double tolerance = 1e-7;
};
class LogisticRegression {
 public:
  void fit(const std::vector<SparseRow>& x, const std::vector<int>& y, int classes, size_t features,
           const LogisticOptions& options = {});
  std::vector<double> probabilities(const SparseRow& x) const;
  int predict(const SparseRow& x) const;  // the most probable class, the lowest on a tie
  int iterations() const { return iterations_; }
  double weight(int cls, size_t feature) const { return weights_[cls * features_ + feature]; }
  double intercept(int cls) const { return intercepts_[cls]; }

 private:
  int classes_ = 0;
  size_t features_ = 0;
  int iterations_ = 0;
  std::vector<double> weights_;  // classes x features
  std::vector<double> intercepts_;
};

// Ridge regression with an intercept, sklearn's Ridge(alpha, fit_intercept=True): minimise
// ||y - X w - b||^2 + alpha ||w||^2, solved exactly (Cholesky) on the centred data, in the
// primal (features x features) or the dual (rows x rows) form, whichever is smaller.
struct RidgeOptions {
  double alpha = 1.0;
};
class RidgeRegression {
 public:
  void fit(const std::vector<SparseRow>& x, const std::vector<double>& y, size_t features,
           const RidgeOptions& options = {});
  double predict(const SparseRow& x) const;
  double weight(size_t feature) const { return weights_[feature]; }
  double intercept() const { return intercept_; }

 private:
  std::vector<double> weights_;
  double intercept_ = 0;
};

// ---- The discriminator protocol ----

struct ExplainerTexts {
  std::string name;                // e.g. "recexplainer-H", "base", ...
  std::vector<std::string> texts;  // in the order of the explanation rows
  std::vector<double> scores;      // the recommender's raw score of each row's (user, item)
                                   // (pos_score for Yes, neg_score for No); empty: no regressor
  // Fixed features of each text (a text encoder's embedding), the same for every explainer:
  // used in place of TF-IDF, which is fitted on the training texts; empty: TF-IDF.
  std::vector<SparseRow> features;
};
struct DiscriminatorOptions {
  size_t n_train = 2000;  // per explainer: rows [0, n_train) train ...
  size_t n_test = 500;    // ... and the next n_test rows test, each clipped to what is there
  LogisticOptions logistic;
  RidgeOptions ridge;
};
struct DiscriminatorResult {
  std::vector<std::string> names;  // the explainers, in the order given
  // The distinction classifier: class k = explainer k, TF-IDF fitted on all training texts (or
  // the given features).
  double accuracy = 0;
  std::vector<std::vector<int64_t>> predicted;  // [explainer block][predicted class]
  std::vector<int64_t> train_rows, test_rows;   // per explainer
  // The score predictor: one per explainer with scores, TF-IDF fitted on its training texts (or
  // the given features).
  struct Score {
    std::string name;
    double mse = 0;
    double mean_mse = 0;  // predicting the training mean, for reference
    int64_t train_rows = 0, test_rows = 0;
  };
  std::vector<Score> score;
  // {"distinction": {"accuracy", "classes": [names], "predicted": {name: {name: n}},
  //  "train_rows": {name: n}, "test_rows": {...}}, "score": {name: {"mse", "mean_mse",
  //  "train_rows", "test_rows"}}}
  nlohmann::json to_json() const;
};
// The original's protocol (run_cls.sh, run_reg.sh) with the split of DiscriminatorOptions.
// Fewer than two explainers, an explainer with no training or no test rows, or scores or
// features whose count is not the texts' count (features given for some explainers only
// included) are a gavamoe::Error naming the explainer.
DiscriminatorResult run_discriminators(const std::vector<ExplainerTexts>& explainers,
                                       const DiscriminatorOptions& options = {});

}  // namespace gavamoe
