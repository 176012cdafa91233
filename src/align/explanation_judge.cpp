// Explanation judging without a judge model (explanation_judge.hpp). Shapes: n rows, d TF-IDF
// features, K classes; dense matrices are row-major std::vector<double>.
#include "gavamoe/align/explanation_judge.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/strings.hpp"

namespace gavamoe {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string ascii_lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

int count_words(const std::string& text) {
  int words = 0;
  for (size_t k = 0; k < text.size(); ++k)
    if (is_word_byte(text[k]) && (k == 0 || !is_word_byte(text[k - 1]))) ++words;
  return words;
}

// ---- Decision ----

bool is_filler(unsigned char c) {
  static const std::string kFiller = "*_#>`\"'-([{:|~=";
  return c == ' ' || (c >= '\t' && c <= '\r') ||
         kFiller.find(static_cast<char>(c)) != std::string::npos;
}

// The word (ASCII letters and digits) starting at `at`, lower-cased.
std::string word_at(const std::string& text, size_t at) {
  size_t end = at;
  while (end < text.size() && is_word_byte(text[end])) ++end;
  return ascii_lower(text.substr(at, end - at));
}

// ---- Dense linear algebra ----

// Solves A x = b for a symmetric positive definite n x n A (overwritten by its Cholesky factor).
std::vector<double> cholesky_solve(std::vector<double>& a, std::vector<double> b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    double* row_i = &a[i * n];
    for (size_t j = 0; j <= i; ++j) {
      const double* row_j = &a[j * n];
      double sum = row_i[j];
      for (size_t k = 0; k < j; ++k) sum -= row_i[k] * row_j[k];
      if (j < i) {
        row_i[j] = sum / row_j[j];
      } else {
        if (!(sum > 0)) throw Error("ridge regression: the system is not positive definite");
        row_i[i] = std::sqrt(sum);
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {  // L z = b
    double sum = b[i];
    for (size_t k = 0; k < i; ++k) sum -= a[i * n + k] * b[k];
    b[i] = sum / a[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {  // L^T x = z
    double sum = b[i];
    for (size_t k = i + 1; k < n; ++k) sum -= a[k * n + i] * b[k];
    b[i] = sum / a[i * n + i];
  }
  return b;
}

double sparse_dot(const SparseRow& x, const std::vector<double>& dense) {
  double sum = 0;
  for (const auto& [f, v] : x) sum += v * dense[f];
  return sum;
}

}  // namespace

// ---- 1. Decision ----

const char* explanation_decision_name(ExplanationDecision decision) {
  switch (decision) {
    case ExplanationDecision::yes:
      return "yes";
    case ExplanationDecision::no:
      return "no";
    default:
      return "none";
  }
}

ExplanationDecision explanation_decision(const std::string& text) {
  const size_t n = text.size();
  size_t at = 0;
  auto skip_filler = [&] {
    while (at < n && is_filler(static_cast<unsigned char>(text[at]))) ++at;
  };
  skip_filler();
  // b. an optional label word and its colon
  {
    size_t q = at;
    std::string word = word_at(text, q);
    q += word.size();
    if (word == "final") {
      while (q < n && text[q] == ' ') ++q;
      std::string next = word_at(text, q);
      word = next == "answer" ? "final answer" : "";
      q += next.size();
    }
    static const std::set<std::string> kLabels = {"answer",     "final answer", "decision",
                                                  "prediction", "verdict",      "recommendation"};
    if (kLabels.count(word)) {
      while (q < n && (text[q] == ' ' || text[q] == '*' || text[q] == '_')) ++q;
      if (q < n && text[q] == ':') {
        at = q + 1;
        skip_filler();
      }
    }
  }
  // c, d. the first yes / no word of the first sentence
  for (size_t k = at; k < n; ++k) {
    const char c = text[k];
    if (c == '.' || c == '!' || c == '?' || c == '\n' || c == '\r') break;
    if (!is_word_byte(c) || (k > 0 && is_word_byte(text[k - 1]))) continue;
    const std::string word = word_at(text, k);
    if (word == "yes") return ExplanationDecision::yes;
    if (word == "no") return ExplanationDecision::no;
    k += word.size() - 1;
  }
  return ExplanationDecision::none;
}

bool rule_grade_a(ExplanationDecision decision, bool label_yes) {
  return decision != (label_yes ? ExplanationDecision::yes : ExplanationDecision::no);
}

// ---- 2. Judge prompt ----

std::string judge_prompt(const std::vector<std::string>& history, const std::string& target,
                         bool label_yes, const std::string& output) {
  std::string joined;
  for (size_t k = 0; k < history.size(); ++k) joined += (k ? ", " : "") + history[k];
  const std::string indent = "\n     ";
  return "Please act as an impartial judge and evaluate the AI assistant's recommendation "
         "decision as well as decision explanation based on the user's purchase history, target "
         "item, and ground truth label. Assign a score according to the following four levels:" +
         indent +
         "A. <score>A</score>: Incorrect classification - The assistant failed to generate a "
         "correct recommendation decision." +
         indent +
         "B. <score>B</score>: Correct classification, insufficient explanation - The assistant "
         "correctly classified the recommendation but provided no, few, or irrelevant "
         "explanations, or provided explanations with hallucination, some of which do not "
         "conform to the actual situation." +
         indent +
         "C. <score>C</score>: Correct classification, acceptable explanation - The assistant "
         "correctly classified the recommendation and provided an explanation that is logically "
         "consistent and aligns with the user's history and target item, but has minor "
         "imperfections such as lack of persuasiveness or informativeness." +
         indent +
         "D. <score>D</score>: Correct classification, satisfying explanation - The assistant "
         "correctly classified the recommendation and provided a satisfactory explanation, "
         "including a summary of the user's historical behavior patterns and characteristics, as "
         "well as a thorough analysis of the consistency or inconsistency between user "
         "preferences and the target item." +
         indent +
         "Please give your score in the form of <score>label</score>, for example: if the score "
         "is C, output <score>C</score>. Do not allow the length of the explanation to influence "
         "your evaluation. Be as objective as possible." +
         indent + "Known information: User history: " + joined + ", Target item: " + target +
         ", Label: " + (label_yes ? "Yes" : "No") + ". Assistant's output: " + output;
}

char judge_grade(const std::string& reply, bool lenient) {
  const std::string text = lenient ? ascii_lower(reply) : normalise_answer(reply);
  const std::string open = "<score>", close = "</score>";
  const size_t length = open.size() + 1 + close.size();
  auto grade_at = [&](size_t at) -> char {
    if (text.compare(at, open.size(), open) != 0) return 0;
    const char g = text[at + open.size()];
    if (g < 'a' || g > 'd' || text.compare(at + open.size() + 1, close.size(), close) != 0)
      return 0;
    return static_cast<char>(g - 'a' + 'A');
  };
  if (!lenient) return text.size() == length ? grade_at(0) : 0;
  for (size_t at = text.find(open); at != std::string::npos; at = text.find(open, at + 1))
    if (at + length <= text.size())
      if (char g = grade_at(at)) return g;
  return 0;
}

// ---- 3. Grounding ----

TitleMatcher::TitleMatcher(const std::vector<std::string>& catalogue, int min_short_form_words) {
  std::map<std::string, int32_t> title_ids;
  for (const auto& title : catalogue) {
    std::string key = normalise_answer(title);
    if (key.empty() || title_ids.count(key)) continue;
    title_ids.emplace(key, static_cast<int32_t>(titles_.size()));
    titles_.push_back(key);
  }
  static const std::set<std::string> kArticles = {"the", "a",   "an",  "les", "la",  "le",  "il",
                                                  "el",  "das", "der", "die", "los", "las", "l'"};
  std::map<std::string, int32_t> form_ids;
  auto add_form = [&](const std::string& form, int32_t id, bool is_short) {
    if (form.empty() || (is_short && count_words(form) < min_short_form_words)) return;
    auto [it, added] = form_ids.emplace(form, static_cast<int32_t>(forms_.size()));
    if (added) {
      forms_.push_back(form);
      form_titles_.emplace_back();
    }
    auto& ids = form_titles_[it->second];
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (int32_t id = 0; id < static_cast<int32_t>(titles_.size()); ++id) {
    const std::string& title = titles_[id];
    add_form(title, id, false);
    std::string base = title;
    const size_t n = title.size();
    if (n >= 8 && title.compare(n - 7, 2, " (") == 0 && title[n - 1] == ')' &&
        std::all_of(title.begin() + n - 5, title.end() - 1,
                    [](char c) { return c >= '0' && c <= '9'; })) {
      base = strip_ascii_space(title.substr(0, n - 7));
      add_form(base, id, true);
    }
    const size_t comma = base.rfind(", ");
    if (comma != std::string::npos && comma > 0) {
      const std::string article = base.substr(comma + 2);
      if (kArticles.count(article))
        add_form(article + (article == "l'" ? "" : " ") + base.substr(0, comma), id, true);
    }
  }
  // The Aho-Corasick automaton: a trie of the forms, then fail links breadth first.
  nodes_.emplace_back();
  for (int32_t f = 0; f < static_cast<int32_t>(forms_.size()); ++f) {
    int32_t node = 0;
    for (unsigned char c : forms_[f]) {
      auto& next = nodes_[node].next;
      auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{0}),
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
      if (it != next.end() && it->first == c) {
        node = it->second;
      } else {
        const auto child = static_cast<int32_t>(nodes_.size());
        next.insert(it, {c, child});
        nodes_.emplace_back();
        node = child;
      }
    }
    nodes_[node].form = f;
  }
  std::vector<int32_t> queue;
  for (const auto& [c, child] : nodes_[0].next) queue.push_back(child);
  for (size_t head = 0; head < queue.size(); ++head) {
    const int32_t u = queue[head];
    for (const auto& [c, v] : nodes_[u].next) {
      const int32_t fail = step(nodes_[u].fail, c);
      nodes_[v].fail = fail;
      nodes_[v].output = nodes_[fail].form >= 0 ? fail : nodes_[fail].output;
      queue.push_back(v);
    }
  }
}

int32_t TitleMatcher::step(int32_t node, unsigned char c) const {
  for (;;) {
    const auto& next = nodes_[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{0}),
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it != next.end() && it->first == c) return it->second;
    if (node == 0) return 0;
    node = nodes_[node].fail;
  }
}

int64_t TitleMatcher::find(const std::string& title) const {
  const std::string key = normalise_answer(title);
  // titles_ is in catalogue order, so look the title up through its own full form.
  int32_t node = 0;
  for (unsigned char c : key) {
    const auto& next = nodes_[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{0}),
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it == next.end() || it->first != c) return -1;
    node = it->second;
  }
  const int32_t form = nodes_[node].form;
  if (key.empty() || form < 0) return -1;
  for (int32_t id : form_titles_[form])
    if (titles_[id] == key) return id;
  return -1;
}

std::vector<std::vector<int32_t>> TitleMatcher::mentions(const std::string& text) const {
  const std::string lowered = ascii_lower(text);
  struct Match {
    size_t begin, end;
    int32_t form;
  };
  std::vector<Match> matches;
  int32_t node = 0;
  for (size_t k = 0; k < lowered.size(); ++k) {
    node = step(node, static_cast<unsigned char>(lowered[k]));
    for (int32_t o = nodes_[node].form >= 0 ? node : nodes_[node].output; o >= 0;
         o = nodes_[o].output) {
      const std::string& form = forms_[nodes_[o].form];
      const size_t end = k + 1, begin = end - form.size();
      const bool left =
          begin == 0 || !is_word_byte(form.front()) || !is_word_byte(lowered[begin - 1]);
      const bool right =
          end == lowered.size() || !is_word_byte(form.back()) || !is_word_byte(lowered[end]);
      if (left && right) matches.push_back({begin, end, nodes_[o].form});
    }
  }
  std::sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<std::vector<int32_t>> found;
  std::set<std::vector<int32_t>> seen;
  size_t covered = 0;
  for (const auto& m : matches) {
    if (m.begin < covered) continue;
    covered = m.end;
    if (seen.insert(form_titles_[m.form]).second) found.push_back(form_titles_[m.form]);
  }
  return found;
}

Grounding grounding(const TitleMatcher& matcher, const std::string& text,
                    const std::vector<std::string>& history, const std::string& target) {
  auto id_of = [&](const std::string& title) {
    const int64_t id = matcher.find(title);
    if (id < 0) throw Error("grounding: title \"" + title + "\" is not in the catalogue");
    return static_cast<int32_t>(id);
  };
  std::set<int32_t> history_ids;
  for (const auto& title : history) history_ids.insert(id_of(title));
  const int32_t target_id = id_of(target);
  std::set<int32_t> mentioned;
  for (const auto& candidates : matcher.mentions(text)) {
    bool known = false;
    for (int32_t id : candidates) {
      if (id == target_id || history_ids.count(id)) {
        mentioned.insert(id);
        known = true;
      }
    }
    if (!known) mentioned.insert(candidates.front());
  }
  Grounding g;
  g.history_titles = static_cast<int64_t>(history_ids.size());
  for (int32_t id : history_ids) g.history_mentioned += mentioned.count(id);
  g.history_share = g.history_titles ? static_cast<double>(g.history_mentioned) /
                                           static_cast<double>(g.history_titles)
                                     : 0.0;
  g.target_mentioned = mentioned.count(target_id) > 0;
  g.mentioned = static_cast<int64_t>(mentioned.size());
  for (int32_t id : mentioned)
    if (id != target_id && !history_ids.count(id)) ++g.hallucinated;
  g.hallucination_rate =
      g.mentioned ? static_cast<double>(g.hallucinated) / static_cast<double>(g.mentioned) : 0.0;
  return g;
}

Grounding grounding(const std::string& text, const std::vector<std::string>& history,
                    const std::string& target, const std::vector<std::string>& catalogue) {
  return grounding(TitleMatcher(catalogue), text, history, target);
}

// ---- 4. TF-IDF ----

std::vector<std::string> tfidf_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  const std::string lowered = ascii_lower(text);
  for (size_t k = 0; k < lowered.size();) {
    if (!is_word_byte(lowered[k])) {
      ++k;
      continue;
    }
    size_t end = k;
    while (end < lowered.size() && is_word_byte(lowered[end])) ++end;
    tokens.push_back(lowered.substr(k, end - k));
    k = end;
  }
  return tokens;
}

void TfidfVectorizer::fit(const std::vector<std::string>& texts) {
  std::map<std::string, int64_t> df;
  for (const auto& text : texts) {
    auto tokens = tfidf_tokens(text);
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    for (auto& token : tokens) ++df[token];
  }
  terms_.clear();
  idf_.clear();
  const double n = static_cast<double>(texts.size());
  for (const auto& [term, count] : df) {
    terms_.push_back(term);
    idf_.push_back(std::log((1 + n) / (1 + static_cast<double>(count))) + 1);
  }
}

int32_t TfidfVectorizer::feature(const std::string& term) const {
  auto it = std::lower_bound(terms_.begin(), terms_.end(), term);
  return it != terms_.end() && *it == term ? static_cast<int32_t>(it - terms_.begin()) : -1;
}

SparseRow TfidfVectorizer::transform(const std::string& text) const {
  std::map<int32_t, double> counts;
  for (const auto& token : tfidf_tokens(text))
    if (int32_t f = feature(token); f >= 0) counts[f] += 1;
  SparseRow row;
  double norm = 0;
  for (const auto& [f, count] : counts) {
    row.emplace_back(f, count * idf_[f]);
    norm += row.back().second * row.back().second;
  }
  norm = std::sqrt(norm);
  for (auto& entry : row) entry.second /= norm;
  return row;
}

std::vector<SparseRow> TfidfVectorizer::transform(const std::vector<std::string>& texts) const {
  std::vector<SparseRow> rows;
  rows.reserve(texts.size());
  for (const auto& text : texts) rows.push_back(transform(text));
  return rows;
}

// ---- Logistic regression ----

void LogisticRegression::fit(const std::vector<SparseRow>& x, const std::vector<int>& y,
                             int classes, size_t features, const LogisticOptions& options) {
  if (x.empty() || x.size() != y.size())
    throw Error("logistic regression: " + std::to_string(x.size()) + " rows and " +
                std::to_string(y.size()) + " labels");
  if (classes < 2) throw Error("logistic regression: fewer than 2 classes");
  if (!(options.c > 0)) throw Error("logistic regression: C must be positive");
  for (int label : y)
    if (label < 0 || label >= classes)
      throw Error("logistic regression: label " + std::to_string(label) + " outside 0.." +
                  std::to_string(classes - 1));
  const size_t n = x.size(), k_classes = static_cast<size_t>(classes);
  const size_t d = features, size = d * k_classes + k_classes;  // W (d x K, feature-major), b
  const double lambda = 1.0 / (options.c * static_cast<double>(n));
  double max_norm = 0;
  for (const auto& row : x) {
    double norm = 1;  // the intercept's constant feature
    for (const auto& [f, v] : row) {
      if (f < 0 || static_cast<size_t>(f) >= d)
        throw Error("logistic regression: feature " + std::to_string(f) + " outside 0.." +
                    std::to_string(d - 1));
      norm += v * v;
    }
    max_norm = std::max(max_norm, norm);
  }
  const double step = 1.0 / (0.5 * max_norm + lambda);

  std::vector<double> theta(size, 0.0), previous(size, 0.0), point(size), grad(size);
  std::vector<double> z(k_classes);
  auto gradient = [&](const std::vector<double>& p) {
    std::fill(grad.begin(), grad.end(), 0.0);
    const double* b = &p[d * k_classes];
    for (size_t i = 0; i < n; ++i) {
      for (size_t c = 0; c < k_classes; ++c) z[c] = b[c];
      for (const auto& [f, v] : x[i])
        for (size_t c = 0; c < k_classes; ++c) z[c] += p[f * k_classes + c] * v;
      const double top = *std::max_element(z.begin(), z.end());
      double total = 0;
      for (auto& value : z) total += (value = std::exp(value - top));
      for (size_t c = 0; c < k_classes; ++c)
        z[c] = z[c] / total - (static_cast<size_t>(y[i]) == c ? 1.0 : 0.0);
      for (const auto& [f, v] : x[i])
        for (size_t c = 0; c < k_classes; ++c) grad[f * k_classes + c] += z[c] * v;
      for (size_t c = 0; c < k_classes; ++c) grad[d * k_classes + c] += z[c];
    }
    double largest = 0;
    for (size_t j = 0; j < size; ++j) {
      grad[j] /= static_cast<double>(n);
      if (j < d * k_classes) grad[j] += lambda * p[j];
      largest = std::max(largest, std::abs(grad[j]));
    }
    return largest;
  };

  // Nesterov's accelerated gradient, momentum restarted when it points uphill.
  int64_t momentum_step = 0;
  iterations_ = 0;
  for (int it = 0; it < options.max_iterations; ++it) {
    const double beta = static_cast<double>(momentum_step) / static_cast<double>(momentum_step + 3);
    for (size_t j = 0; j < size; ++j) point[j] = theta[j] + beta * (theta[j] - previous[j]);
    const double largest = gradient(point);
    iterations_ = it + 1;
    if (largest < options.tolerance) {
      theta = point;
      break;
    }
    previous = theta;
    double uphill = 0;
    for (size_t j = 0; j < size; ++j) {
      theta[j] = point[j] - step * grad[j];
      uphill += grad[j] * (theta[j] - previous[j]);
    }
    momentum_step = uphill > 0 ? 0 : momentum_step + 1;
  }
  classes_ = classes;
  features_ = d;
  weights_.assign(k_classes * d, 0.0);
  for (size_t f = 0; f < d; ++f)
    for (size_t c = 0; c < k_classes; ++c) weights_[c * d + f] = theta[f * k_classes + c];
  intercepts_.assign(theta.begin() + static_cast<std::ptrdiff_t>(d * k_classes), theta.end());
}

std::vector<double> LogisticRegression::probabilities(const SparseRow& x) const {
  std::vector<double> z(intercepts_);
  for (const auto& [f, v] : x)
    if (f >= 0 && static_cast<size_t>(f) < features_)
      for (int c = 0; c < classes_; ++c) z[c] += weights_[c * features_ + f] * v;
  const double top = *std::max_element(z.begin(), z.end());
  double total = 0;
  for (auto& value : z) total += (value = std::exp(value - top));
  for (auto& value : z) value /= total;
  return z;
}

int LogisticRegression::predict(const SparseRow& x) const {
  const auto p = probabilities(x);
  return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
}

// ---- Ridge regression ----

void RidgeRegression::fit(const std::vector<SparseRow>& x, const std::vector<double>& y,
                          size_t features, const RidgeOptions& options) {
  if (x.empty() || x.size() != y.size())
    throw Error("ridge regression: " + std::to_string(x.size()) + " rows and " +
                std::to_string(y.size()) + " targets");
  if (!(options.alpha > 0)) throw Error("ridge regression: alpha must be positive");
  const size_t n = x.size(), d = features;
  std::vector<double> mean_x(d, 0.0);
  double mean_y = 0;
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [f, v] : x[i]) {
      if (f < 0 || static_cast<size_t>(f) >= d)
        throw Error("ridge regression: feature " + std::to_string(f) + " outside 0.." +
                    std::to_string(d - 1));
      mean_x[f] += v;
    }
    mean_y += y[i];
  }
  for (auto& m : mean_x) m /= static_cast<double>(n);
  mean_y /= static_cast<double>(n);
  const double nn = static_cast<double>(n);

  weights_.assign(d, 0.0);
  if (d <= n) {
    // (Xc^T Xc + alpha I) w = Xc^T yc, with Xc^T Xc = X^T X - n mean_x mean_x^T.
    std::vector<double> a(d * d, 0.0), rhs(d, 0.0);
    for (size_t i = 0; i < n; ++i)
      for (const auto& [f, v] : x[i]) {
        rhs[f] += v * y[i];
        for (const auto& [g, u] : x[i]) a[f * d + g] += v * u;
      }
    for (size_t f = 0; f < d; ++f) {
      rhs[f] -= nn * mean_x[f] * mean_y;
      for (size_t g = 0; g < d; ++g) a[f * d + g] -= nn * mean_x[f] * mean_x[g];
      a[f * d + f] += options.alpha;
    }
    weights_ = cholesky_solve(a, rhs, d);
  } else {
    // (Xc Xc^T + alpha I) a = yc, w = Xc^T a; Xc Xc^T is K = X X^T centred on both sides.
    std::vector<double> k(n * n, 0.0), dense(d, 0.0);
    for (size_t i = 0; i < n; ++i) {
      for (const auto& [f, v] : x[i]) dense[f] = v;
      for (size_t j = 0; j <= i; ++j) k[i * n + j] = k[j * n + i] = sparse_dot(x[j], dense);
      for (const auto& [f, v] : x[i]) dense[f] = 0;
    }
    std::vector<double> row_mean(n, 0.0);
    double all_mean = 0;
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) row_mean[i] += k[i * n + j];
      row_mean[i] /= nn;
      all_mean += row_mean[i] / nn;
    }
    std::vector<double> rhs(n);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) k[i * n + j] += all_mean - row_mean[i] - row_mean[j];
      k[i * n + i] += options.alpha;
      rhs[i] = y[i] - mean_y;
    }
    const std::vector<double> dual = cholesky_solve(k, rhs, n);
    double dual_sum = 0;
    for (size_t i = 0; i < n; ++i) {
      dual_sum += dual[i];
      for (const auto& [f, v] : x[i]) weights_[f] += dual[i] * v;
    }
    for (size_t f = 0; f < d; ++f) weights_[f] -= mean_x[f] * dual_sum;
  }
  intercept_ = mean_y;
  for (size_t f = 0; f < d; ++f) intercept_ -= mean_x[f] * weights_[f];
}

double RidgeRegression::predict(const SparseRow& x) const {
  double value = intercept_;
  for (const auto& [f, v] : x)
    if (f >= 0 && static_cast<size_t>(f) < weights_.size()) value += weights_[f] * v;
  return value;
}

// ---- The discriminator protocol ----

DiscriminatorResult run_discriminators(const std::vector<ExplainerTexts>& explainers,
                                       const DiscriminatorOptions& options) {
  if (explainers.size() < 2)
    throw Error("discriminators: " + std::to_string(explainers.size()) +
                " explainers; the distinction classifier needs at least 2");
  DiscriminatorResult result;
  std::vector<std::string> train_texts;
  std::vector<int> train_labels;
  for (size_t e = 0; e < explainers.size(); ++e) {
    const auto& ex = explainers[e];
    const size_t rows = ex.texts.size();
    const size_t n_train = std::min(options.n_train, rows);
    const size_t n_test = std::min(options.n_test, rows - n_train);
    if (n_train == 0 || n_test == 0)
      throw Error("discriminators: explainer \"" + ex.name + "\" has " + std::to_string(rows) +
                  " texts: no " + (n_train == 0 ? "training" : "test") + " rows");
    if (!ex.scores.empty() && ex.scores.size() != rows)
      throw Error("discriminators: explainer \"" + ex.name + "\" has " + std::to_string(rows) +
                  " texts and " + std::to_string(ex.scores.size()) + " scores");
    if (ex.features.size() != (explainers.front().features.empty() ? 0 : rows))
      throw Error("discriminators: explainer \"" + ex.name + "\" has " + std::to_string(rows) +
                  " texts and " + std::to_string(ex.features.size()) +
                  " feature rows (every explainer needs one per text, or none)");
    result.names.push_back(ex.name);
    result.train_rows.push_back(static_cast<int64_t>(n_train));
    result.test_rows.push_back(static_cast<int64_t>(n_test));
    train_texts.insert(train_texts.end(), ex.texts.begin(),
                       ex.texts.begin() + static_cast<std::ptrdiff_t>(n_train));
    train_labels.insert(train_labels.end(), n_train, static_cast<int>(e));
  }

  // Given features: their dimension is the largest index used, plus one.
  const bool given = !explainers.front().features.empty();
  size_t given_features = 0;
  for (const auto& ex : explainers)
    for (const auto& row : ex.features)
      for (const auto& [f, v] : row) given_features = std::max(given_features, size_t(f) + 1);

  const int classes = static_cast<int>(explainers.size());
  TfidfVectorizer vectorizer;
  std::vector<SparseRow> train_x;
  if (given) {
    for (size_t e = 0; e < explainers.size(); ++e)
      train_x.insert(
          train_x.end(), explainers[e].features.begin(),
          explainers[e].features.begin() + static_cast<std::ptrdiff_t>(result.train_rows[e]));
  } else {
    vectorizer.fit(train_texts);
    train_x = vectorizer.transform(train_texts);
  }
  LogisticRegression classifier;
  classifier.fit(train_x, train_labels, classes, given ? given_features : vectorizer.features(),
                 options.logistic);
  int64_t correct = 0, total = 0;
  for (size_t e = 0; e < explainers.size(); ++e) {
    std::vector<int64_t> counts(explainers.size(), 0);
    const auto& ex = explainers[e];
    const size_t begin = static_cast<size_t>(result.train_rows[e]);
    const size_t end = begin + static_cast<size_t>(result.test_rows[e]);
    for (size_t r = begin; r < end; ++r) {
      const int predicted =
          classifier.predict(given ? ex.features[r] : vectorizer.transform(ex.texts[r]));
      ++counts[predicted];
      correct += predicted == static_cast<int>(e);
      ++total;
    }
    result.predicted.push_back(counts);
  }
  result.accuracy = static_cast<double>(correct) / static_cast<double>(total);

  for (size_t e = 0; e < explainers.size(); ++e) {
    const auto& ex = explainers[e];
    if (ex.scores.empty()) continue;
    const auto n_train = static_cast<std::ptrdiff_t>(result.train_rows[e]);
    const auto n_test = static_cast<std::ptrdiff_t>(result.test_rows[e]);
    const std::vector<std::string> texts(ex.texts.begin(), ex.texts.begin() + n_train);
    const std::vector<double> targets(ex.scores.begin(), ex.scores.begin() + n_train);
    TfidfVectorizer score_vectorizer;
    if (!given) score_vectorizer.fit(texts);
    auto features_of = [&](std::ptrdiff_t r) {
      return given ? ex.features[static_cast<size_t>(r)]
                   : score_vectorizer.transform(ex.texts[static_cast<size_t>(r)]);
    };
    std::vector<SparseRow> x;
    for (std::ptrdiff_t r = 0; r < n_train; ++r) x.push_back(features_of(r));
    RidgeRegression regressor;
    regressor.fit(x, targets, given ? given_features : score_vectorizer.features(), options.ridge);
    double mean = 0;
    for (double t : targets) mean += t;
    mean /= static_cast<double>(targets.size());
    DiscriminatorResult::Score score;
    score.name = ex.name;
    score.train_rows = n_train;
    score.test_rows = n_test;
    for (std::ptrdiff_t r = n_train; r < n_train + n_test; ++r) {
      const double truth = ex.scores[static_cast<size_t>(r)];
      const double error = regressor.predict(features_of(r)) - truth;
      score.mse += error * error;
      score.mean_mse += (mean - truth) * (mean - truth);
    }
    score.mse /= static_cast<double>(n_test);
    score.mean_mse /= static_cast<double>(n_test);
    result.score.push_back(score);
  }
  return result;
}

nlohmann::json DiscriminatorResult::to_json() const {
  nlohmann::json distinction = {{"accuracy", accuracy}, {"classes", names}};
  nlohmann::json blocks = nlohmann::json::object(), train = nlohmann::json::object(),
                 test = nlohmann::json::object();
  for (size_t e = 0; e < names.size(); ++e) {
    nlohmann::json counts = nlohmann::json::object();
    for (size_t c = 0; c < names.size() && e < predicted.size(); ++c)
      counts[names[c]] = predicted[e][c];
    blocks[names[e]] = counts;
    if (e < train_rows.size()) train[names[e]] = train_rows[e];
    if (e < test_rows.size()) test[names[e]] = test_rows[e];
  }
  distinction["predicted"] = blocks;
  distinction["train_rows"] = train;
  distinction["test_rows"] = test;
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& s : score)
    scores[s.name] = {{"mse", s.mse},
                      {"mean_mse", s.mean_mse},
                      {"train_rows", s.train_rows},
                      {"test_rows", s.test_rows}};
  return {{"distinction", distinction}, {"score", scores}};
}

}  // namespace gavamoe
