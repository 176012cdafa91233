// The shared training loop: a model, a task that gives losses and validation scores, and the
// machinery around them (seeded order, accumulation, AdamW, schedules, clipping, checkpoints
// with exact resume, early stopping, progress, the training log).
//
// A task (TrainingTask) owns its examples; the loop only sees their count and positions.
// Every epoch shuffles the positions 0..size-1 with a seed of (seed, epoch); consecutive
// `batch_size` positions form a micro-batch and `grad_accum` micro-batches one optimizer step.
// The loss of a step is the summed loss of its micro-batches divided by the summed weight of
// their examples (weight(): 1 for one target per example, the target-token count for text), so
// accumulation gives the same step as one large batch. Before each micro-batch the loop seeds
// LibTorch (dropout) with (seed, step, micro-batch) and hands the task the same seed for its own
// draws (negative samples), which is what makes a resumed run continue exactly.
//
// Optimiser: AdamW (betas 0.9/0.999, eps 1e-8), weight decay on matrices only. Learning rate:
// LrSchedule (warm-up, then constant, linear or cosine) times PlateauSchedule's multiplier (cut
// when the validation score stalls; factor 1 leaves it off). Gradients are clipped to a global
// norm when grad_clip > 0. Validation: after every epoch, and before the first one when
// validate_first is set (UniRec's order: its first evaluation precedes any training); the best
// score's weights are kept, and `patience` validations in a row without a better score stop the
// run (strictly better; UniRec's early_stop max_step 5 is patience 6).
//
// Run folder: train_log.jsonl (every log_every steps a training line {step, epoch, loss, lr,
// grad_norm, examples_per_s, and tokens_per_s for a task that counts input tokens}; after every
// validation {step, epoch, val, <details>}) and checkpoint/
// (weights.safetensors: the trainable parameters by name; best.safetensors; optimizer.pt;
// state.json: step, epoch, position, best score and epoch, validations, plateau state, timing,
// the log so far), replaced as a whole every checkpoint_every steps and after every
// validation. On the CPU a resumed run ends with bit-identical weights to an uninterrupted one.
// When the loop returns, the model holds the best validation's weights. SIGINT or SIGTERM
// (interrupt.hpp) stops the run after the step it is in (or the validation, at an epoch's end):
// it saves a checkpoint and throws Interrupted; a second signal ends the process at once.
//
// Data parallelism (a DataParallel group of W ranks; nullptr: one process): every rank holds
// the whole task and shuffles the same order; rank r takes the contiguous share
// [size r / W, size (r + 1) / W) of every micro-batch, divides its summed loss by the step's
// global weight (every rank knows the whole order, so that needs no exchange), and the
// gradients are summed over the ranks before clipping and the optimizer step. W ranks thus
// take one process's step up to float summation order, and hold the same weights after every
// step. Rank 0 keeps the one-process seed of each micro-batch and rank r > 0 mixes r into it,
// so a group of one is the plain run. Validation: every rank validates the same data and rank
// 0's score decides for all (it is shared with an all-reduce), so the ranks agree on the best
// weights, the learning-rate cuts and the early stop without moving weights. Only rank 0
// writes the log and the checkpoints (the others wait for it); a checkpoint records the world
// size and resumes only with the same one. An interrupt of any rank stops all of them after the
// same step (they agree on it with an all-reduce every step).
//
// Users: the explainer (explainer_trainer.cpp), the target recommenders (rec_trainer.cpp) and
// the aligned LLM (align_trainer.cpp).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/train/plateau_schedule.hpp"

namespace gavamoe {

class DataParallel;

struct Validation {
  double score = 0;        // the early-stopping metric
  nlohmann::json details;  // object: more metrics for the log (may be empty)
};

// What the loop trains.
class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  // Number of training examples.
  virtual int64_t size() const = 0;
  // An example's share of a step's normaliser.
  virtual double weight(int64_t example) const { return 1.0; }
  // The tokens an example feeds the model, for the log's tokens_per_s (0: not counted).
  virtual int64_t input_tokens(int64_t example) const { return 0; }
  // The summed loss of `examples` (a micro-batch): a scalar that backpropagates. `seed` is for
  // the task's own random draws.
  virtual torch::Tensor loss(const std::vector<int64_t>& examples, uint64_t seed) = 0;
  // The validation score of the model as it is now (the loop puts it in eval mode first and
  // back in train mode after).
  virtual Validation validate() = 0;
};

struct TrainingLoopOptions {
  std::string name = "train";    // for log messages and the progress label
  std::string metric = "score";  // name of the validation score in messages
  int64_t epochs = 10;
  int64_t batch_size = 16;  // examples per micro-batch
  int64_t grad_accum = 1;
  double lr = 1e-3;
  double weight_decay = 0.0;
  int64_t warmup_steps = 0;
  std::string schedule = "constant";  // constant | linear | cosine
  PlateauOptions plateau;             // factor 1: off
  double grad_clip = 0.0;             // global gradient norm; <= 0: off
  int64_t patience = 3;               // validations in a row without a better score
  bool validate_first = false;
  bool higher_is_better = true;
  int64_t log_every = 10;
  int64_t checkpoint_every = 0;  // steps between checkpoints (0: after validations only)
  uint64_t seed = 1;
  // Tests of resuming: return right after the checkpoint of this step, as if killed (0: off).
  int64_t stop_after_steps = 0;
};

struct TrainingResult {
  bool stopped = false;  // stop_after_steps ended the run
  double best_score = 0;
  int64_t best_epoch = -1;  // epochs trained before the best validation (0: before training)
  nlohmann::json best_details;
  int64_t epochs_run = 0;
  int64_t steps = 0;
  bool early_stopped = false;
  std::vector<double> epoch_seconds;  // training time of each finished epoch, validation excluded
  double validation_seconds = 0;
  double peak_rss_mib = 0;  // this rank's peak resident memory, over the resumes of the run
};

// Trains `model` (its parameters that require gradients) on `task` with its run folder
// `run_dir`; `resume` continues from the folder's checkpoint (an Error when there is none or it
// does not fit the model, the task or the world size). `parallel`: the data-parallel group
// this process is a rank of (nullptr: one process); every rank calls run_training alike.
TrainingResult run_training(torch::nn::Module& model, TrainingTask& task,
                            const TrainingLoopOptions& options, const std::string& run_dir,
                            bool resume, DataParallel* parallel = nullptr);

// The seed a checkpointed run started with (a resumed run keeps it), or `fallback`.
uint64_t checkpoint_seed(const std::string& run_dir, uint64_t fallback);

// The positions 0..size-1 in the order epoch `epoch` (0 for the first) of a run seeded with
// `seed` visits them.
std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch);

}  // namespace gavamoe
