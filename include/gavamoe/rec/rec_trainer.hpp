// `gavamoe rec train`: SASRec or MF on a sequence folder, through the shared training loop
// (train/training_loop.hpp). The rec library sits above train: cli -> rec -> train -> model;
// layout.md has rec on model-level blocks only, but the brief asks for one training loop, and
// the loop lives in train/, so rec depends on it (nothing in train depends on rec).
//
// Samples (UniRec's): one per training target of the leave-one-out split (leave_one_out.hpp).
// SASRec reads the last max_history items before the target, left-padded, and is trained with
// the full softmax over all M ids (logsumexp of every score, the padding id's constant 0
// included, minus the target's; the history is not excluded). MF reads the user id and is
// trained with a sampled softmax over the positive and K uniform negatives that exclude the
// user's training part (negative_sampler.hpp). The step loss is the mean over the batch.
// AdamW (weight decay 0), gradient-norm clipping, ReduceLROnPlateau on the validation
// NDCG@10 (factor 0.1, patience 1), validation before the first epoch and after each,
// early stop after `patience` validations without a better NDCG@10 (6: UniRec's max_step 5).
// Defaults: the run config's "rec" section = UniRec's settings for RecExplainer.
//
// Outputs in RUN_DIR (the CLI adds config.json and train.log): rec.json and model.safetensors
// (rec_run.hpp), train_log.jsonl, checkpoint/, metrics.json. With a data-parallel group every
// rank trains (training_loop.hpp) on its group's device and rank 0 alone writes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/core/config.hpp"
#include "gavamoe/rec/leave_one_out.hpp"
#include "gavamoe/rec/matrix_factorization.hpp"
#include "gavamoe/rec/sasrec.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"
#include "gavamoe/train/plateau_schedule.hpp"

namespace gavamoe {

class DataParallel;

struct RecTrainOptions {
  std::string model = "sasrec";  // sasrec | mf
  HoldoutMode split = HoldoutMode::separate;
  int64_t epochs = 100;
  int64_t patience = 6;
  bool validate_first = true;
  PlateauOptions plateau{0.1, 1, 1e-4, true};
  double weight_decay = 0.0;
  double init_std = 0.02;
  int64_t eval_batch_size = 1024;
  int64_t log_every = 10;
  int64_t checkpoint_every = 100;
  std::string device = "auto";
  SasrecOptions sasrec;  // n_items is set from the data
  MfOptions mf;          // n_users, n_items from the data
  int64_t negatives = 285;
  // Of the chosen model.
  double lr = 0.0003112577321994525;
  int64_t batch_size = 2048;
  double grad_clip = 10.0;
  uint64_t seed = 1;
  int64_t stop_after_steps = 0;  // tests of resuming (training_loop.hpp)

  // From the "rec" section; `model` overrides rec.model when not empty. Errors name the key.
  static RecTrainOptions from_config(const RunConfig& config, const std::string& model,
                                     uint64_t seed);
};

// The checks train_recommender makes before it trains (rec.device, a validation target for
// some user, model sizes within recommender.hpp's bounds, memory for training: see
// memory_estimate.hpp), for a command to call before it creates the run folder.
void check_recommender_run(const SequenceDataset& data, const RecTrainOptions& options);
// Trains a new run into run_dir (which must not hold one). Returns metrics.json's content
// ({"stopped": true} when stop_after_steps ended it). `parallel`: this process's data-parallel
// group (nullptr: one process).
nlohmann::json train_recommender(const SequenceDataset& data, const RecTrainOptions& options,
                                 const std::string& run_dir, DataParallel* parallel = nullptr);
// Continues the run in run_dir from its checkpoint (its seed is kept).
nlohmann::json resume_recommender(const SequenceDataset& data, const RecTrainOptions& options,
                                  const std::string& run_dir, DataParallel* parallel = nullptr);

}  // namespace gavamoe
