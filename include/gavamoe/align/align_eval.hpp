// `gavamoe align eval`: the alignment metrics of a surrogate run on its variant's validation
// samples, decoded and scored as the original's src/inference.py does (spec section 5;
// formulas in alignment_metrics.hpp).
//
//   task           decoding                                   metric
//   uid2next       beam search, 5 beams, 5 returned, max 150  HR@5, NDCG@5 against title(top1)
//   uidiid2rank    greedy, max 500 new tokens                 graded NDCG@5 [1000, 100, 10, 1, 0]
//   uidiid2binary  none: one forward pass, the logits of the  accuracy (a tie counts as Yes)
//                  "Yes" and "No" tokens (the first token of
//                  each word in the model's own tokenizer) at
//                  the last prompt position
//   iid2title      greedy, max 200                            exact title match
//   uid2hist       greedy, max 500                            coverage of the history titles
// Generation stops at the tokenizer's end-of-turn ids; BOS and the pad token are banned (the
// placeholders lie beyond the vocabulary and can never be generated). The answer is the decoded
// new tokens cut at each end marker, stripped and lower-cased. Variant none (the plain base)
// is scored on the behaviour samples. max_samples keeps the first N samples of each task in
// file order (the validation file lists users in order), so runs with the same N compare.
// Outputs: align_eval.json ({variant, tasks: {task: {metric: mean, samples}}, chance: ...,
// seconds}) and align_eval_predictions.jsonl (one line per sample: task, uid, iid, answer,
// prediction(s), metrics) in the run folder, written whole or not at all.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gavamoe {

struct AlignEvalOptions {
  std::vector<std::string> tasks = {"uid2next", "uidiid2rank", "uidiid2binary", "iid2title",
                                    "uid2hist"};
  int64_t max_samples = 0;  // per task; 0: all
  int64_t batch_size = 4;
  int64_t max_new_tokens = 0;  // > 0: caps every task's own limit (a quicker, shorter run)
  std::string device = "auto";
};

// The tasks align eval knows, in the order it runs them.
const std::vector<std::string>& align_eval_tasks();

// Evaluates the run in `run_dir`; returns (and writes) align_eval.json.
nlohmann::json evaluate_alignment(const std::string& run_dir, const AlignEvalOptions& options);

}  // namespace gavamoe
