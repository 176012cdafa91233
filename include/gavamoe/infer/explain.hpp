// Explaining records with a trained explainer run: what `gavamoe infer` does.
//
// Each record's prompt is built exactly as training built it (encode_prompt with the run's
// template and max_length, BOS/EOS of the run's tokenizer); the record's VAE cluster (and
// responsibilities, for soft gating) routes its experts, and its VAE user and item rows fill the
// placeholders. Records go through the KV-cached generator in batches, in the order given. A record
// whose prompt alone does not fit max_length (plus EOS) is skipped and counted, as training skips
// it.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "gavamoe/core/config.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/data/record.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/infer/prediction_writer.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/vae_gmm.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

// What a run folder holds for inference: the explainer with its trained weights, the VAE it
// was trained with, the tokenizer, and the run config (config.json) with `overrides` applied.
struct ExplainerRun {
  RunConfig config;
  Explainer explainer{nullptr};
  TrainedVae vae;
  std::unique_ptr<Tokenizer> tokenizer;
  PromptOptions prompt;
  UnknownIds unknown_ids = UnknownIds::error;
};

// `overrides`: "section.key=value" assignments applied over the run's config.json (the CLI's
// --set and decoding options). Errors name the run folder and what is missing.
ExplainerRun load_explainer_for_inference(const std::string& run_dir,
                                          const std::vector<std::string>& overrides = {},
                                          torch::Device device = torch::kCPU);

// The zero-shot baseline: the pretrained base `base_model` (a name load_pretrained resolves)
// alone, with no LoRA, no experts and no placeholder projections, prompted as a run of `config`
// is (train.template, train.max_length, train.base_dtype) but with the placeholders written as
// words (PromptOptions::placeholders_as_words): untrained projections would only inject noise.
// `vae_run` gives each row its cluster and predicted rating, as a trained run's VAE does; it
// does not reach the model. Errors name the VAE run or the base.
ExplainerRun load_zero_shot_explainer(const std::string& base_model, const std::string& vae_run,
                                      const RunConfig& config, torch::Device device = torch::kCPU);

struct ExplainOptions {
  GenerationOptions generation;  // the prompt's and the model's EOS ids are added as stop tokens
  int64_t batch_size = 32;

  // From the config's `infer` section (decode greedy | sample | beam, temperature, top_k,
  // top_p, beams, repetition_penalty, max_new_tokens, batch_size); errors name the key.
  static ExplainOptions from_config(const RunConfig& config, uint64_t seed);
};

struct ExplainResult {
  std::vector<PredictionRow> rows;  // in the order of the records given, skipped ones left out
  int64_t skipped = 0;              // prompts longer than max_length
  int64_t new_tokens = 0;           // generated tokens, stop tokens included
  double seconds = 0.0;             // generation time (VAE, prompts and writing excluded)

  double records_per_second() const;
  double tokens_per_second() const;
};

// Records must carry text (feature and explanation). Sampling is seeded per batch from
// options.generation.seed, so the same seed and batch size give the same output.
ExplainResult explain_records(ExplainerRun& run, const std::vector<Record>& records,
                              const ExplainOptions& options);

}  // namespace gavamoe
