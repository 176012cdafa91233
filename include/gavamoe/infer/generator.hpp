// Batched generation with a Llama: prompts of any lengths are left-padded into one batch,
// each row keeps its own rotary positions, padding is masked out; a KV cache (default) makes
// each new token cost one position. Beam search decodes each prompt with its beams as a batch.
// Banned tokens (and the stop tokens before min_new_tokens) get a logit of -inf before the
// sampler or the beam scores see them, as HF's bad_words_ids and min_new_tokens do.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "gavamoe/infer/sampler.hpp"
#include "gavamoe/model/llama.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

struct GenerationOptions {
  SamplingOptions sampling;
  int64_t max_new_tokens = 30;
  int64_t min_new_tokens = 0;      // stop tokens are banned before this many new tokens
  std::vector<int> stop_tokens;    // generation of a row ends after one of these
  std::vector<int> banned_tokens;  // never generated (ids outside the vocabulary are ignored)
  int64_t num_beams = 1;  // > 1: beam search (sampling options other than the penalty unused)
  int64_t num_return_sequences = 1;  // beam search: hypotheses kept per prompt (<= num_beams)
  bool use_cache = true;
  bool keep_logits = false;  // record the logits of every step (tests, analysis)
  uint64_t seed = 1;
};

struct GenerationResult {
  std::vector<std::vector<int>> tokens;  // new tokens per prompt, the stop token included
  // Beam search: the num_return_sequences best hypotheses per prompt, best first (tokens[i] is
  // hypotheses[i][0]); empty for sampling and greedy decoding.
  std::vector<std::vector<std::vector<int>>> hypotheses;
  std::vector<torch::Tensor> step_logits;  // with keep_logits: [B, V] float32 per step
};

// The stops of a chat model's answer: its tokenizer's end-of-generation ids; BOS and pad (where
// they are not among those) are banned, so that a weak model cannot open a new sequence.
GenerationOptions answer_generation_options(const Tokenizer& tokenizer);

// `routing` and `placeholders` hold one row per prompt (see Llama::hidden and Llama::embed);
// placeholder ids in the prompts may lie beyond the vocabulary.
GenerationResult generate(Llama& model, const std::vector<std::vector<int>>& prompts,
                          const GenerationOptions& options, const Routing& routing = {},
                          const Placeholders& placeholders = {});
// Beam search with options.num_beams beams (also with 1, which must equal greedy); what
// generate() runs when num_beams > 1.
GenerationResult beam_search(Llama& model, const std::vector<std::vector<int>>& prompts,
                             const GenerationOptions& options, const Routing& routing = {},
                             const Placeholders& placeholders = {});

}  // namespace gavamoe
