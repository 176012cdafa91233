// ExplainerTrainer: the whole `gavamoe train` run, from a Dataset and a VAE run to a run folder.
//
// Examples: the training and validation records encoded by encode_example (records whose prompt
// alone is too long are skipped and counted), each with its VAE cluster and gamma. Training is
// the shared loop (training_loop.hpp: seeded order, accumulation, AdamW with weight decay on
// matrices only, warm-up then linear or cosine decay, clipping by global norm, checkpoints with
// exact resume, early stopping, data parallelism): an example weighs its target tokens, so a
// step's loss is the summed token cross-entropy of its micro-batches divided by their target
// tokens, and accumulation and data parallelism give the same step as one large batch; optional
// bf16 autocast. Each epoch ends with the validation loss (the loop's score, lower is better)
// and perplexity; the best epoch's weights are kept, and `patience` epochs without improvement
// stop the run. Random draws (LoRA dropout) follow the loop's per-micro-batch seeds, so a
// resumed run continues exactly: on the CPU it ends with bit-identical weights to an
// uninterrupted one.
//
// Outputs in RUN_DIR (the CLI adds config.json): the tokenizer (tokenizer.model, or a pretrained
// base's tokenizer.json/.model + tokenizer_config.json), vae (symlink to the VAE run),
// explainer.json + explainer.safetensors (explainer.hpp; the best epoch), train_log.jsonl and
// checkpoint/ (training_loop.hpp), loss.svg, metrics.json. A non-finite loss is an Error, and
// then neither explainer.safetensors nor metrics.json is written.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/core/config.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/vae_gmm.hpp"
#include "gavamoe/train/data_parallel.hpp"

namespace gavamoe {

struct ExplainerTrainOptions {
  ExplainerOptions model;  // n_clusters and the placeholder ids are set by the trainer
  std::string template_name = "plain";
  int64_t max_length = 180;
  int64_t epochs = 10;
  int64_t batch_size = 16;  // examples per micro-batch, over all ranks
  int64_t grad_accum = 1;
  double lr = 1e-3;
  double weight_decay = 0.01;
  int64_t warmup_steps = 50;
  std::string schedule = "cosine";  // constant | linear | cosine
  double grad_clip = 1.0;           // global gradient norm; <= 0: off
  int64_t patience = 3;             // epochs without a better validation loss
  bool bf16 = false;                // bf16 autocast (CPU and CUDA)
  bool grad_checkpointing = false;  // recompute decoder layers in backward (less memory)
  int64_t log_every = 10;           // steps between train_log.jsonl lines
  int64_t checkpoint_every = 100;   // steps between checkpoints (0: epoch ends only)
  int vocab_size = 2000;            // tokenizer trained for a from-scratch run
  std::string device = "auto";      // auto | cpu | cuda
  // The frozen pretrained base's storage and compute dtype: float32 | bfloat16 (pretrained
  // bases only; the trainable parts are float32 either way, see explainer.hpp).
  std::string base_dtype = "float32";
  UnknownIds unknown_ids = UnknownIds::error;
  uint64_t seed = 1;
  // Tests of resuming: return right after the checkpoint of this step, as if killed (0: off).
  int64_t stop_after_steps = 0;

  // From the "train" section (and vae.unknown_ids) of a run config; errors name the key.
  static ExplainerTrainOptions from_config(const RunConfig& config, uint64_t seed);
};

// Where a new run's model comes from.
struct ExplainerSources {
  std::string vae_run;
  std::string base_model;    // load_pretrained name: alias, GGUF file, HF folder; empty: scratch
  std::string model_config;  // from scratch: HF config.json of the base
  std::string tokenizer;     // from scratch: a tokenizer.model; empty: train one on the data
};

// The checks of a new run that need no training, made before its folder exists so that a
// failed start leaves nothing: the sources exist (VAE run, tokenizer), train.device,
// train.template, the data has text and non-empty training and validation subsets, and the
// base's config (read without its weights) has the train.moe_layers and room for
// train.max_length. `cuda_index`: the device of this rank.
void check_new_explainer_run(const Dataset& data, const ExplainerSources& sources,
                             const ExplainerTrainOptions& options, int cuda_index = 0);

// Trains a new run into `run_dir`. Returns the content of metrics.json ({"stopped": true}
// when stop_after_steps ended it early).
nlohmann::json train_explainer(const Dataset& data, const ExplainerSources& sources,
                               const ExplainerTrainOptions& options, const std::string& run_dir,
                               DataParallel* parallel = nullptr);
// Continues the run in `run_dir` from its checkpoint (sources from its explainer.json).
nlohmann::json resume_explainer(const Dataset& data, const ExplainerTrainOptions& options,
                                const std::string& run_dir, DataParallel* parallel = nullptr);

}  // namespace gavamoe
