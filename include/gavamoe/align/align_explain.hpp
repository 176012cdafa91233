// `gavamoe align explain`: the surrogate answers RecExplainer's explanation prompt (will the user
// like the item, and why, from the recommender's perspective) for the uidiid2explan samples of
// its variant (align data's <variant>_explan_{train,valid}.json; variant none reads the
// behaviour ones), with greedy decoding and the original's lengths (shell/infer_explan.sh:
// max_new_tokens 500, min_new_tokens 150; both configurable).
// Rows (jsonl / csv / xlsx by the --out extension): split, label (the recommender's: Yes for
// the pos item, No for the neg), history (the titles the user vector saw, "; "-joined), target
// (title), answer (the generated text, end token removed), uid, iid, target_id, score (the
// recommender's raw score of the pair: the score predictor's target).
#pragma once

#include <cstdint>
#include <string>

namespace gavamoe {

struct AlignExplainOptions {
  std::string split = "valid";  // valid | train | both (train rows first)
  int64_t max_samples = 0;      // per split; 0: all (500 valid, 2000 train for SASRec)
  int64_t max_new_tokens = 500;
  int64_t min_new_tokens = 150;
  int64_t batch_size = 4;
  std::string device = "auto";
};

// Writes the explanations of the run in `run_dir` to `out`; returns the number of rows.
int64_t explain_alignment(const std::string& run_dir, const std::string& out,
                          const AlignExplainOptions& options);

}  // namespace gavamoe
