// `gavamoe align judge`: RecExplainer's explanation judges, offline (spec section 6 and its
// table of offline substitutes), over the files `align explain` wrote (jsonl or csv), one per
// explainer:
//   rule grade A   the explanation's Yes/No decision (explanation_decision) disagrees with the
//                  recommender's label, or it makes none: the part of the GPT-4 judge's scale
//                  a rule computes exactly
//   grounding      share of the history's titles mentioned, target mentioned, and the share of
//                  mentioned catalogue titles that are in neither (hallucination rate)
//   distinction    which explainer wrote an explanation: TF-IDF + logistic regression trained on
//                  the train rows, accuracy on the valid rows (the original: bert-base, 2000 /
//                  500 rows per explainer; here as many as every explainer has, the same for all)
//   score          the recommender's raw score predicted from the explanation (TF-IDF + ridge),
//                  MSE on the valid rows; lower means the text carries more of the model's score
// The rule and grounding judges read the valid rows; the discriminators need train and valid
// rows for every explainer (`align explain --split both`) and at least two explainers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gavamoe {

struct JudgedExplainer {
  std::string name;
  std::string path;  // written by align explain
};

// `catalogue_dir`: the sequence folder whose titles the explanations may mention. Returns the
// judgement ({"explainers": {name: {...}}, "discriminators": ... | null}).
nlohmann::json judge_explanations(const std::vector<JudgedExplainer>& explainers,
                                  const std::string& catalogue_dir);

}  // namespace gavamoe
