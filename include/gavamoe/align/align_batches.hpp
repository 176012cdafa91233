// What the align commands read from an align data folder, and the surrogate's batches.
//
// An align data folder (align data --out) holds align_data.json (the recommender run, the
// sequence folder, max_history) and <variant>_train.json / <variant>_valid.json; variant none
// reads the behaviour files (the plain base model gets the titles-only prompts).
// AlignExamples are the encoded samples of one file with their recommender inputs: the user
// vector of each (zero when its prompt has no <user>), the items of its <item> slots, and the
// item table. Batches are right-padded; targets are -100 except at the positions whose next
// token is an answer token or the end token. Shapes: N examples, B batch, T tokens, S slots,
// M items, D recommender width.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "gavamoe/align/alignment_prompt.hpp"
#include "gavamoe/align/surrogate.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/rec/recommender.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

struct AlignDataFolder {
  std::string dir;
  std::string rec_run;    // the recommender run the samples were built from (or the override)
  std::string sequences;  // the sequence folder
  std::string pipeline;   // sasrec | mf: whose rules built the samples
  int64_t max_history = 9;
  std::string train, valid;  // the variant's files
};
// Errors name the folder and the missing file (and the --variant that would have written it).
AlignDataFolder read_align_data_folder(const std::string& dir, const std::string& variant,
                                       const std::string& rec_run_override = "");
// An error naming both when the recommender run is not of the kind the samples were built for.
void check_pipeline(const AlignDataFolder& folder, const std::string& rec_kind);

struct AlignExamples {
  std::vector<AlignExample> examples;
  std::vector<int64_t> query;  // the query each example came from
  torch::Tensor users;         // [N, D] float32
  std::vector<std::vector<int64_t>> slot_items;
  torch::Tensor item_table;  // [M, D] float32
  int64_t skipped = 0;       // queries whose prompt did not fit max_length
  int pad_id = 0;
};

// A trained run with what align eval and align explain read beside it: its data folder, its
// recommender (checked to be of the kind the samples were built for), the sequences and the
// run's prompt layout.
struct AlignSession {
  AlignRun run;
  AlignDataFolder folder;
  RecRun rec;
  SequenceDataset data;
  AlignPromptOptions prompt;
};
AlignSession open_align_session(const std::string& run_dir, torch::Device device);

// `with_answer`: training examples (prompt, answer, end); else prompts only.
AlignExamples encode_align_examples(const Tokenizer& tokenizer,
                                    const std::vector<AlignQuery>& queries,
                                    const AlignPromptOptions& prompt, Recommender& recommender,
                                    const SequenceDataset& data, const std::string& source,
                                    bool with_answer);

// The right-padded batch of examples `rows`.
SurrogateBatch make_surrogate_batch(const AlignExamples& examples,
                                    const std::vector<int64_t>& rows);

// The recommender inputs of examples `rows` as generate() wants them (placeholders of those
// rows, in that order).
Placeholders batch_placeholders(Surrogate& model, const AlignExamples& examples,
                                const std::vector<int64_t>& rows);

}  // namespace gavamoe
