// Offline judges of explanations (align_judge.hpp).
#include "gavamoe/align/align_judge.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/align/explanation_judge.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/csv.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/strings.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

struct ExplanationRow {
  std::string split, label, history, target, answer;
  double score = 0;
};

// The rows of an align explain file (jsonl or csv, by extension); errors name the file and row.
std::vector<ExplanationRow> read_explanations(const std::string& path) {
  if (!std::filesystem::exists(path)) throw file_error(path, "does not exist");
  const std::string text = read_file(path);
  const std::vector<std::string> columns = {"split",  "label",  "history",
                                            "target", "answer", "score"};
  std::vector<ExplanationRow> rows;
  auto make = [&](auto field, const std::string& where) {
    ExplanationRow row;
    row.split = field("split");
    row.label = field("label");
    row.history = field("history");
    row.target = field("target");
    row.answer = field("answer");
    try {
      row.score = std::stod(field("score"));
    } catch (const std::exception&) {
      throw file_error(path, where, "score is not a number");
    }
    if (row.split != "train" && row.split != "valid")
      throw file_error(path, where, "split must be train or valid");
    return row;
  };
  if (std::filesystem::path(path).extension() == ".csv") {
    const auto table = parse_csv(text, path);
    if (table.empty()) throw file_error(path, "is empty (no header)");
    std::map<std::string, size_t> at;
    for (size_t c = 0; c < table[0].fields.size(); ++c) at[table[0].fields[c]] = c;
    for (const auto& name : columns)
      if (!at.count(name)) throw file_error(path, "has no column '" + name + "' (align explain)");
    for (size_t r = 1; r < table.size(); ++r) {
      const std::string where = "line " + std::to_string(table[r].line);
      rows.push_back(make(
          [&](const std::string& name) {
            const size_t c = at.at(name);
            if (c >= table[r].fields.size()) throw file_error(path, where, "too few fields");
            return table[r].fields[c];
          },
          where));
    }
    return rows;
  }
  int64_t number = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    ++number;
    if (strip_ascii_space(line).empty()) continue;
    const std::string where = "line " + std::to_string(number);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception&) {
      throw file_error(path, where, "is not JSON");
    }
    rows.push_back(make(
        [&](const std::string& name) {
          if (!j.contains(name)) throw file_error(path, where, "has no '" + name + "'");
          const json& v = j.at(name);
          return v.is_string() ? v.get<std::string>() : v.dump();
        },
        where));
  }
  return rows;
}

}  // namespace

json judge_explanations(const std::vector<JudgedExplainer>& explainers,
                        const std::string& catalogue_dir) {
  if (explainers.empty()) throw Error("align judge: no explanation files given");
  const SequenceDataset data = read_sequence_folder(catalogue_dir);
  std::vector<std::string> catalogue;
  for (int64_t item = 1; item < data.n_items(); ++item) catalogue.push_back(data.item_label(item));
  const TitleMatcher matcher(catalogue);

  json judged = json::object();
  std::vector<std::vector<ExplanationRow>> all;
  for (const auto& e : explainers) {
    all.push_back(read_explanations(e.path));
    int64_t valid = 0, grade_a = 0, target = 0;
    double history_share = 0, hallucination = 0;
    std::map<std::string, int64_t> decisions;
    for (const auto& row : all.back()) {
      if (row.split != "valid") continue;
      ++valid;
      const ExplanationDecision decision = explanation_decision(row.answer);
      ++decisions[explanation_decision_name(decision)];
      grade_a += rule_grade_a(decision, normalise_answer(row.label) == "yes");
      const Grounding g = grounding(matcher, row.answer, split_text(row.history, "; "), row.target);
      history_share += g.history_share;
      hallucination += g.hallucination_rate;
      target += g.target_mentioned;
    }
    if (valid == 0) throw file_error(e.path, "has no valid rows to judge");
    const double n = static_cast<double>(valid);
    judged[e.name] = {{"file", e.path},
                      {"rows", valid},
                      {"decisions", decisions},
                      {"grade_a_rate", grade_a / n},
                      {"history_share", history_share / n},
                      {"target_mentioned", target / n},
                      {"hallucination_rate", hallucination / n}};
  }

  // The discriminators: the same number of train and of valid rows for every explainer.
  json discriminators = nullptr;
  size_t train = SIZE_MAX, valid = SIZE_MAX;
  for (const auto& rows : all) {
    const auto count = [&](const char* split) {
      return static_cast<size_t>(
          std::count_if(rows.begin(), rows.end(), [&](const auto& r) { return r.split == split; }));
    };
    train = std::min(train, count("train"));
    valid = std::min(valid, count("valid"));
  }
  if (explainers.size() >= 2 && train > 0 && valid > 0) {
    std::vector<ExplainerTexts> texts;
    for (size_t k = 0; k < explainers.size(); ++k) {
      ExplainerTexts t;
      t.name = explainers[k].name;
      for (const char* split : {"train", "valid"}) {
        size_t taken = 0;
        const size_t wanted = std::string(split) == "train" ? train : valid;
        for (const auto& row : all[k])
          if (row.split == split && taken < wanted) {
            t.texts.push_back(row.answer);
            t.scores.push_back(row.score);
            ++taken;
          }
      }
      texts.push_back(std::move(t));
    }
    DiscriminatorOptions options;
    options.n_train = train;
    options.n_test = valid;
    discriminators = run_discriminators(texts, options).to_json();
  }
  return {{"catalogue", catalogue_dir},
          {"explainers", judged},
          {"discriminators", discriminators},
          {"discriminator_rows",
           {{"train", train == SIZE_MAX ? 0 : train}, {"valid", valid == SIZE_MAX ? 0 : valid}}}};
}

}  // namespace gavamoe
