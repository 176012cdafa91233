// Terminal table of the eval metrics; see report.hpp.
#include "gavamoe/eval/report.hpp"

#include <map>

#include "gavamoe/core/log.hpp"

namespace gavamoe::eval {

std::string format_metrics_table(const nlohmann::ordered_json& metrics) {
  static const std::map<std::string, std::string> meaning = {
      {"bleu_1", "BLEU-1 x100 (PEPLER, unsmoothed)"},
      {"bleu_4", "BLEU-4 x100 (PEPLER, unsmoothed)"},
      {"bleu_1_smooth", "BLEU-1 x100, add-one smoothing"},
      {"bleu_4_smooth", "BLEU-4 x100, add-one smoothing"},
      {"usr", "unique sentence ratio"},
      {"fmr", "feature matching ratio"},
      {"fcr", "feature coverage ratio"},
      {"div", "feature diversity (lower is better)"},
      {"distinct_1", "distinct unigrams / unigrams"},
      {"distinct_2", "distinct bigrams / bigrams"},
      {"rmse", "rating RMSE (clipped to the range)"},
      {"mae", "rating MAE (clipped to the range)"},
      {"n", "rows"},
  };
  std::string table = log::format("%-18s %12s  %s\n", "metric", "value", "meaning");
  for (const auto& [key, value] : metrics.items()) {
    std::string what;
    auto it = meaning.find(key);
    if (it != meaning.end())
      what = it->second;
    else if (key.rfind("rouge_", 0) == 0)
      what = "ROUGE x100";
    const std::string number = value.is_number_integer() ? std::to_string(value.get<int64_t>())
                                                         : log::format("%.4f", value.get<double>());
    table += log::format("%-18s %12s  %s\n", key.c_str(), number.c_str(), what.c_str());
  }
  return table;
}

}  // namespace gavamoe::eval
