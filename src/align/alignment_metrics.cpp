// The alignment metrics (alignment_metrics.hpp), in the original's loop order.
#include "gavamoe/align/alignment_metrics.hpp"

#include <algorithm>
#include <cmath>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/strings.hpp"

namespace gavamoe {
namespace {

constexpr double kRankRelevance[kAlignTopK] = {1000, 100, 10, 1, 0};

double discount(int64_t position) { return 1.0 / std::log2(static_cast<double>(position) + 2); }

}  // namespace

std::string normalise_answer(const std::string& text) {
  std::string lowered = strip_ascii_space(text);
  for (char& c : lowered)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return lowered;
}

std::vector<std::string> split_text(const std::string& text, const std::string& separator) {
  if (separator.empty()) throw Error("split_text: empty separator");
  std::vector<std::string> parts;
  size_t from = 0;
  for (size_t at = text.find(separator); at != std::string::npos; at = text.find(separator, from)) {
    parts.push_back(text.substr(from, at - from));
    from = at + separator.size();
  }
  parts.push_back(text.substr(from));
  return parts;
}

std::string generated_answer(const std::string& decoded,
                             const std::vector<std::string>& end_markers) {
  std::string text = decoded;
  for (const auto& marker : end_markers) {
    if (marker.empty()) continue;
    size_t at = text.find(marker);
    if (at != std::string::npos) text.resize(at);
  }
  return normalise_answer(text);
}

HitNdcg next_item_hit_ndcg(const std::vector<std::string>& beams, const std::string& label) {
  const std::string wanted = normalise_answer(label);
  const size_t n = std::min<size_t>(beams.size(), kAlignTopK);
  for (size_t j = 0; j < n; ++j)
    if (normalise_answer(beams[j]) == wanted) return {1.0, discount(static_cast<int64_t>(j))};
  return {};
}

double rank_ndcg(const std::string& prediction, const std::vector<std::string>& labels) {
  if (labels.size() > static_cast<size_t>(kAlignTopK))
    throw Error("rank_ndcg: " + std::to_string(labels.size()) + " labels, at most " +
                std::to_string(kAlignTopK) + " are graded");
  if (labels.empty()) return 0;
  std::vector<std::string> preds = split_text(prediction, "; ");
  if (preds.size() > static_cast<size_t>(kAlignTopK)) preds.resize(kAlignTopK);
  for (auto& p : preds) p = normalise_answer(p);
  std::vector<bool> used(preds.size(), false);
  double dcg = 0, idcg = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    idcg += kRankRelevance[i] * discount(static_cast<int64_t>(i));
    const std::string label = normalise_answer(labels[i]);
    for (size_t j = 0; j < preds.size(); ++j) {
      if (!used[j] && preds[j] == label) {
        dcg += kRankRelevance[i] * discount(static_cast<int64_t>(j));
        used[j] = true;
        break;
      }
    }
  }
  return idcg > 0 ? dcg / idcg : 0;
}

double history_coverage(const std::string& prediction, const std::vector<std::string>& history) {
  if (history.empty()) return 0;
  std::vector<std::string> answers;
  for (const auto& title : history) answers.push_back(normalise_answer(title));
  std::vector<std::string> preds = split_text(prediction, "; ");
  if (preds.size() > answers.size()) preds.resize(answers.size());
  const double share = 1.0 / static_cast<double>(answers.size());
  double coverage = 0;
  for (const auto& p : preds)
    if (std::find(answers.begin(), answers.end(), normalise_answer(p)) != answers.end())
      coverage += share;
  return coverage;
}

double title_accuracy(const std::string& prediction, const std::string& title) {
  return normalise_answer(prediction) == normalise_answer(title) ? 1.0 : 0.0;
}

double binary_correct(double logit_yes, double logit_no, bool label_yes) {
  return (label_yes ? logit_yes >= logit_no : logit_yes < logit_no) ? 1.0 : 0.0;
}

double random_rank_ndcg(int n_labels) {
  if (n_labels < 1 || n_labels > kAlignTopK)
    throw Error("random_rank_ndcg: " + std::to_string(n_labels) + " labels; 1.." +
                std::to_string(kAlignTopK) + " are graded");
  double relevance = 0, mean_discount = 0, idcg = 0;
  for (int i = 0; i < n_labels; ++i) {
    relevance += kRankRelevance[i];
    mean_discount += discount(i) / n_labels;
    idcg += kRankRelevance[i] * discount(i);
  }
  return relevance * mean_discount / idcg;
}

HitNdcg random_next_item_hit_ndcg(int64_t n_items) {
  if (n_items < 1) throw Error("random_next_item_hit_ndcg: no items");
  const int64_t shown = std::min<int64_t>(kAlignTopK, n_items);
  HitNdcg chance;
  chance.hit = static_cast<double>(shown) / static_cast<double>(n_items);
  for (int64_t j = 0; j < shown; ++j) chance.ndcg += discount(j);
  chance.ndcg /= static_cast<double>(n_items);
  return chance;
}

void AlignMetricMeans::add(const std::string& task, const std::map<std::string, double>& metrics) {
  Sums& sums = tasks_[task];
  ++sums.samples;
  for (const auto& [name, value] : metrics) {
    if (name == "samples") throw Error("AlignMetricMeans: \"samples\" is not a metric name");
    sums.sum[name] += value;
    ++sums.count[name];
  }
}

nlohmann::json AlignMetricMeans::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [task, sums] : tasks_) {
    nlohmann::json entry = nlohmann::json::object();
    for (const auto& [name, sum] : sums.sum)
      entry[name] = sum / static_cast<double>(sums.count.at(name));
    entry["samples"] = sums.samples;
    out[task] = entry;
  }
  return out;
}

}  // namespace gavamoe
