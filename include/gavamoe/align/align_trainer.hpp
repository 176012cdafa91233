// `gavamoe align train`: the surrogate (surrogate.hpp) trained on one variant's alignment
// samples (align data's <variant>_train.json, validated on <variant>_valid.json) through the
// shared training loop (train/training_loop.hpp).
//
// Examples: each sample encoded by encode_align_example (prompt, answer, end-of-turn); samples
// whose prompt does not fit max_length are skipped and counted. The loss is the cross-entropy
// of the answer tokens and the end token, summed, and a step divides by its target-token count
// (HF's causal-LM mean over unmasked tokens, the same with accumulation). AdamW (weight decay
// 0), warm-up over warmup_ratio of the steps, then linear decay (HF Trainer's schedule), global
// gradient norm clipped to 1. Validation after every epoch: the mean answer-token loss on a
// fixed sample of at most valid_samples validation samples (drawn once with the seed; the
// whole set is what `align eval` measures), lower is better, with early stopping.
// Variant none trains nothing: the run folder holds the base as it is, for `align eval` and
// `align explain`, evaluated on the behaviour prompts. With a data-parallel group every rank
// trains (training_loop.hpp) on its group's device and rank 0 alone writes.
// Shapes: B samples, T tokens, S item slots, D recommender width.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/core/config.hpp"

namespace gavamoe {

class DataParallel;

struct AlignTrainOptions {
  std::string variant = "hybrid";  // behaviour | intention | hybrid | none
  std::string data;                // the align data folder
  std::string rec_run;             // default: the one align data was built from
  std::string base_model = "smollm2";
  std::string template_name = "auto";
  int64_t max_length = 512;
  int64_t epochs = 1;
  int64_t batch_size = 4;
  int64_t grad_accum = 4;
  double lr = 1e-4;
  double warmup_ratio = 0.1;
  double grad_clip = 1.0;
  int64_t patience = 3;
  int64_t lora_rank = 16;
  double lora_alpha = 32;
  double lora_dropout = 0.05;
  int64_t max_train_samples = 0;  // 0: all; else the first N after a seeded shuffle
  int64_t valid_samples = 256;
  int64_t log_every = 10;
  int64_t checkpoint_every = 50;
  std::string device = "auto";
  uint64_t seed = 2024;
  int64_t stop_after_steps = 0;  // tests of resuming

  // The "align" section of a run config (config_defaults.cpp).
  static AlignTrainOptions from_config(const RunConfig& config, uint64_t seed);
};

// Trains into `run_dir` (new, or the killed run's folder when `resume`); returns metrics.json.
// Everything is read and checked before a new run folder is made, so bad input leaves none;
// `on_run_folder` runs once the folder exists (the CLI writes config.json and opens train.log),
// on rank 0 of `parallel`, this process's data-parallel group (nullptr: one process).
nlohmann::json train_surrogate(
    const AlignTrainOptions& options, const std::string& run_dir, bool resume,
    const std::function<void()>& on_run_folder = [] {}, DataParallel* parallel = nullptr);

}  // namespace gavamoe
