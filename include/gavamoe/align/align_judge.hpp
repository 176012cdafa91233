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
//   encoder        optional (TextEncoderOptions::model): the same two discriminators on a text
//                  encoder's features instead of TF-IDF, the original's bert-base replaced by a
//                  pretrained LLM, frozen: the mean of its final hidden states over the text's
//                  first max_tokens tokens (the original's max_seq_length 512), L2-normalised,
//                  under the same logistic and ridge models (only those are trained)
//   judge model    optional (JudgeModelOptions::model): the original's GPT-4 judge prompt
//                  (judge_prompt) as the user turn of a local instruct model's chat template,
//                  greedy decoding (the original samples GPT-4 at temperature 1; greedy keeps a
//                  local judge reproducible), the reply graded A-D by judge_grade: counted as the
//                  original's eval_metric counts (the whole reply one tag) and leniently (the
//                  first tag anywhere, for small judges that write more), with the mean grade
//                  A = 0 .. D = 3 over the lenient grades and every reply kept
// The rule, grounding and model judges read the valid rows; the discriminators need train and
// valid rows for every explainer (`align explain --split both`) and at least two explainers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/align/explanation_judge.hpp"
#include "gavamoe/model/llama.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

struct JudgedExplainer {
  std::string name;
  std::string path;  // written by align explain
};

struct JudgeModelOptions {
  std::string model;             // a load_pretrained name (smollm2, GGUF, HF folder); "": none
  int64_t max_new_tokens = 500;  // the original's max_tokens
  int64_t max_rows = 0;          // valid rows judged per explainer (the first ones); 0: all
  int64_t batch_size = 4;
  std::string device = "auto";
};

struct TextEncoderOptions {
  std::string model;         // a load_pretrained name; "": TF-IDF only
  int64_t max_tokens = 512;  // tokens of a text the encoder reads
  std::string device = "auto";
};

// The encoder's feature row of `text`: mean-pooled final hidden states of `encoder` over the
// text's first max_tokens tokens (plain text, no chat template; an empty text reads one EOS),
// L2-normalised, as a dense row of hidden-size entries.
SparseRow encode_text(Llama& encoder, const Tokenizer& tokenizer, const std::string& text,
                      int64_t max_tokens);

// `catalogue_dir`: the sequence folder whose titles the explanations may mention. Returns the
// judgement ({"explainers": {name: {..., "judge_model": {...} when judge.model is set}},
// "discriminators": ... | null, "encoder_discriminators": ... | null}).
nlohmann::json judge_explanations(const std::vector<JudgedExplainer>& explainers,
                                  const std::string& catalogue_dir,
                                  const JudgeModelOptions& judge = {},
                                  const TextEncoderOptions& encoder = {});

}  // namespace gavamoe
