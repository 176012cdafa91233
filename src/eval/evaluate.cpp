// Runs every metric over one set of prediction rows; see evaluate.hpp.
#include "gavamoe/eval/evaluate.hpp"

#include <algorithm>

#include "gavamoe/eval/bleu.hpp"
#include "gavamoe/eval/corpus.hpp"
#include "gavamoe/eval/explainability.hpp"
#include "gavamoe/eval/rating_metrics.hpp"
#include "gavamoe/eval/rouge.hpp"

namespace gavamoe::eval {
namespace {

void put_rouge(nlohmann::ordered_json& out, const char* name, const PrfScore& score) {
  const std::string prefix = name;
  out[prefix + "/f_score"] = score.f * 100;
  out[prefix + "/p_score"] = score.p * 100;
  out[prefix + "/r_score"] = score.r * 100;
}

}  // namespace

nlohmann::ordered_json evaluate(const Predictions& rows, const EvalOptions& options) {
  Vocabulary vocab;
  const std::vector<Sentence> references = encode_all(rows.reference, vocab);
  const std::vector<Sentence> generated = encode_all(rows.generated, vocab);

  nlohmann::ordered_json out;
  const BleuCounts bleu = bleu_counts(references, generated, 4);
  out["bleu_1"] = bleu_from_counts(bleu, 1, false) * 100;
  out["bleu_4"] = bleu_from_counts(bleu, 4, false) * 100;
  out["bleu_1_smooth"] = bleu_from_counts(bleu, 1, true) * 100;
  out["bleu_4_smooth"] = bleu_from_counts(bleu, 4, true) * 100;
  const RougeScores rouge = mean_rouge(references, generated);
  put_rouge(out, "rouge_1", rouge.rouge_1);
  put_rouge(out, "rouge_2", rouge.rouge_2);
  put_rouge(out, "rouge_l", rouge.rouge_l);
  out["usr"] = unique_sentence_ratio(generated);

  // Features are whole strings: one holding a space can never equal a token, as in PEPLER.
  const std::vector<std::string>& feature_set =
      options.feature_set.empty() ? rows.feature : options.feature_set;
  std::vector<uint32_t> feature_ids;
  for (const std::string& feature : feature_set) feature_ids.push_back(vocab.intern(feature));
  std::sort(feature_ids.begin(), feature_ids.end());
  feature_ids.erase(std::unique(feature_ids.begin(), feature_ids.end()), feature_ids.end());
  if (!feature_ids.empty()) {
    std::vector<char> is_feature(vocab.size(), 0);
    for (uint32_t id : feature_ids) is_feature[id] = 1;
    const auto found = detect_features(generated, is_feature);
    if (rows.has_feature) {
      std::vector<uint32_t> own;
      own.reserve(rows.size());
      for (const std::string& feature : rows.feature) own.push_back(vocab.intern(feature));
      out["fmr"] = feature_matching_ratio(found, own);
    }
    out["fcr"] = feature_coverage_ratio(found, feature_ids.size());
    out["div"] = feature_diversity(found);
  }
  out["distinct_1"] = distinct_n(generated, 1);
  out["distinct_2"] = distinct_n(generated, 2);

  if (rows.has_predicted_rating) {
    std::pair<double, double> range;
    if (options.rating_range) {
      range = *options.rating_range;
    } else {
      const auto [low, high] = std::minmax_element(rows.rating.begin(), rows.rating.end());
      range = {*low, *high};
    }
    const RatingErrors errors =
        rating_errors(rows.rating, rows.predicted_rating, range.first, range.second);
    out["rmse"] = errors.rmse;
    out["mae"] = errors.mae;
  }
  out["n"] = rows.size();
  return out;
}

}  // namespace gavamoe::eval
