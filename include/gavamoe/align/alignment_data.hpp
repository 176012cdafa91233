// AlignmentData: RecExplainer's alignment-task samples, built from a sequence folder and the
// target recommender's label files (rec/labels.hpp), following the original's generators
// (preprocess/amazon_generate_v3.py for SASRec, mf_amazon_video_games_generate.py for MF, and
// utils.py) rule for rule.
//
// Variants: behaviour (B: the prompt names items by their titles), intention (I: the
// placeholders <user> and <item>, whose embeddings the surrogate injects from the recommender),
// hybrid (H: both, "<user>" + history and "<item>" + title, no space between). One template is
// drawn per sample and shared by the three variants. Titles are joined with "; "; a history is
// the user's items before the first occurrence of the row's item, the last max_history (9).
//
// Tasks and answers (all answers are the recommender's outputs, except uid2hist):
//   uid2next       B hist | I <user> | H <user>hist                    -> title(top1)
//   uidiid2rank    (hist, shuffled titles) | (<user>, <item> x5) | (<user>hist, <item>title;..)
//                  -> the five titles in the model's order; `topk` keeps the shuffled order,
//                  which is the order of the <item> slots
//   uidiid2binary  (hist, title) | (<user>, <item>) | (<user>hist, <item>title), target = pos
//                  -> "Yes", target = neg -> "No", each with its own template
//   uid2hist       I and H only: <user> -> the titles of the history the user vector sees
//   iid2title      I and H only: <item> -> title (valid: the held-out test_iid2title templates)
//   iid2feature / iid2description / iid2brand / iid2sim
//                  B title | I <item> | H <item>title -> features "; " / description / brand /
//                  title(similar item)
//   feature2iid / description2iid   B only: the text -> title
// Counts, SASRec pipeline: train from train_top.txt (uid2next and uidiid2rank one per row;
// uidiid2binary only on the row of the last training item, pos and neg; uid2hist one per item
// of seq[1:]); valid from test_top.txt (one uid2next and uidiid2rank per user; uidiid2binary for
// a user with probability 0.3, then pos and neg; uid2hist one per user with iid -1 and the full
// sequence); item tasks one per item (iid2sim one per sim_item.txt line), iid2title in both.
// MF pipeline: everything user-side from test_top.txt's 6 rows per user (rank r = 0..5):
// uid2next rows r < 5, by user (uid > 0.9 N valid, else train); uidiid2rank r < 5 train,
// r = 5 valid; uidiid2binary r < 3 train, r = 3 valid with probability 0.5; uid2hist on seq[-1]
// (its history), one valid sample for uid > 0.9 N, else three train copies.
// Explanations (uidiid2explan, explan_data_gen.py): the explanation prompt verbatim with
// (hist, title) | (<user>, <item>) | (<user>hist, <item>title), a Yes sample for the row's pos
// and a No sample for its neg, with the recommender's raw score of that pair; SASRec: valid from
// test_top.txt until 500 samples, train from the rows of each user's second-to-last item until
// 2000; MF: valid from rows r = 3, train from r < 3. They need no draws, so adding them left the
// other files as they were.
// Left out, as nothing offline can make them: uid2summary (GPT-4 answers) and ShareGPT, for
// which a user's own chat data can be mixed in (general_instructions.hpp).
// feature2iid / description2iid texts are not cut to the model's length here (the original cuts
// them to model_max_length - 200 tokens); the trainer's max_length bounds every sample.
// max_train_per_user keeps each user's last N training rows (and last N uid2hist items), so a
// smaller set for 2 cores is deterministic; the validation set is built in full.
// Draws (templates, shuffles, the validation coin) come from one generator seeded with `seed`,
// in a fixed order: the same inputs and seed give the same files.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/rec/labels.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"
#include "gavamoe/text/chat_template.hpp"

namespace gavamoe {

enum class AlignVariant { behaviour = 0, intention = 1, hybrid = 2 };
constexpr int kAlignVariants = 3;
const char* align_variant_name(AlignVariant variant);
// "behaviour", "intention", "hybrid" or "all"; anything else is a gavamoe::Error naming `key`.
std::vector<AlignVariant> parse_align_variants(const std::string& name, const std::string& key);

struct AlignSample {
  std::string type;           // uid2next, uidiid2rank, uidiid2binary, uid2hist, iid2title, ...
  int64_t uid = 0;            // 0: an item task
  int64_t iid = 0;            // -1: a uid2hist validation sample (the whole sequence)
  int64_t target = 0;         // uidiid2binary: the item asked about
  std::vector<int64_t> topk;  // uidiid2rank: the items in the order of the prompt
  std::string user_template;  // the USER side, with {0} and {1}
  std::string answer;
  double score = 0;  // uidiid2explan: the recommender's score of (uid, target)
  // The question of each variant: one slot, or two for the two-slot tasks; empty when the
  // variant has no such task.
  std::array<std::vector<std::string>, kAlignVariants> question;
  // type "sharegpt" (general_instructions.hpp): the conversation, the same in every variant.
  std::vector<ChatMessage> conversation;

  bool in(AlignVariant variant) const {
    return !conversation.empty() || !question[static_cast<int>(variant)].empty();
  }
  // The original's sample dict: uid (user tasks), iid, question (a string, or a pair), answer,
  // template {"USER", "ASSISTANT": "{0}"}, type, and target / topk where the task has them; a
  // conversation is {"type": "sharegpt", "iid": 0, "conversation": [{"role", "content"}, ...]}.
  nlohmann::json to_json(AlignVariant variant) const;
};

struct AlignDataOptions {
  std::string pipeline = "sasrec";  // sasrec | mf: whose generator's rules
  int64_t max_history = 9;
  int64_t max_train_per_user = 0;  // 0: every training row
  uint64_t seed = 2023;
};

struct AlignData {
  std::vector<AlignSample> train, valid;
  std::vector<AlignSample> explain_train, explain_valid;  // uidiid2explan
};

struct LabelFiles {
  std::vector<LabelRow> train_top, test_top;
  std::vector<int64_t> similar;  // similar[i]; 0: no line
};
// train_top.txt, test_top.txt and sim_item.txt of `dir`, checked against `data`'s items.
LabelFiles read_label_files(const std::string& dir, const SequenceDataset& data);

AlignData make_alignment_data(const SequenceDataset& data, const LabelFiles& labels,
                              const AlignDataOptions& options);

// {"train"|"valid"|"explan_train"|"explan_valid": {variant: {type: count, ..., "total": n}}}
nlohmann::json alignment_counts(const AlignData& data, const std::vector<AlignVariant>& variants);

// <variant>_train.json and <variant>_valid.json (JSON arrays, as the original writes them), and
// <variant>_explan_train.json / _explan_valid.json, for each variant, and align_data.json (`info`
// plus the counts), into `dir`, whole or not at all.
void write_alignment_data(const std::string& dir, const AlignData& data,
                          const std::vector<AlignVariant>& variants, nlohmann::json info);

}  // namespace gavamoe
