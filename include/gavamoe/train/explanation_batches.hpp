// The explainer's training examples and their padded batches.
//
// An example is one record encoded by encode_example ([BOS] prompt explanation EOS) with its
// VAE rows and cluster. In a batch, position t of a row predicts token t + 1; the loss covers
// the positions that predict the explanation and EOS (t >= prompt_length - 1), so an example
// has ids.size() - prompt_length target tokens.
//
// Shapes: B examples, T the longest example of the batch, K clusters.
#pragma once

#include <cstdint>
#include <vector>

#include "gavamoe/data/dataset.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/text/tokenizer.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/vae_gmm.hpp"

namespace gavamoe {

struct ExplanationExample {
  std::vector<int> ids;
  int64_t prompt_length = 0;
  int64_t user = 0;  // VAE table rows
  int64_t item = 0;
  int64_t cluster = 0;
  std::vector<float> gamma;  // [K]

  int64_t target_count() const { return static_cast<int64_t>(ids.size()) - prompt_length; }
};

struct ExampleSet {
  std::vector<ExplanationExample> examples;
  int64_t skipped = 0;    // records whose prompt alone is longer than max_length
  int64_t truncated = 0;  // records whose explanation was cut to fit
};

// Encodes the records at `positions` (in that order). Clusters and VAE rows come from `vae`;
// ids the VAE does not know are an error naming them, or with UnknownIds::fallback take the
// unknown rows.
ExampleSet encode_examples(const Dataset& data, const std::vector<int64_t>& positions,
                           const Tokenizer& tokenizer, const PromptOptions& prompt, TrainedVae& vae,
                           UnknownIds unknown_ids);

// Right-padded batch of examples[picks[i]]; padding repeats `pad_id` and is masked out.
ExplainerBatch make_batch(const std::vector<ExplanationExample>& examples,
                          const std::vector<int64_t>& picks, int64_t pad_id,
                          torch::Device device = torch::kCPU);

// Perplexity of the target tokens of `evaluated` under add-one smoothed unigram frequencies of
// the target tokens of `trained` over a vocabulary of `vocab_size` ids: the baseline a model
// that ignores all context would reach.
double unigram_perplexity(const std::vector<ExplanationExample>& trained,
                          const std::vector<ExplanationExample>& evaluated, int64_t vocab_size);

}  // namespace gavamoe
