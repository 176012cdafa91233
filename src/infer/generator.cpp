// Batched generation: left padding, per-row positions, KV cache or full recomputation,
// stop tokens, and beam search. Shapes: B rows, L prompt length (padded), V vocabulary.
#include "gavamoe/infer/generator.hpp"

#include <algorithm>
#include <limits>

#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

// What a row carries besides its tokens: its routing and its placeholder vectors.
struct RowContext {
  Routing routing;
  Placeholders placeholders;

  // Rows `rows` (int64, any device) in that order; for beams, a row repeated.
  RowContext select_rows(const torch::Tensor& rows) const {
    auto select = [&](const torch::Tensor& t) {
      return t.defined() ? t.index_select(0, rows.to(t.device())) : t;
    };
    return {{select(routing.clusters), select(routing.weights)},
            {placeholders.tokens, select(placeholders.vectors)}};
  }
};

// Tokens of all rows, left-padded, in buffers sized for the whole generation so that a decode
// step writes one column in place: ids and validity [B, W], rotary positions [B, W] (the new
// columns' positions are set up front). Columns [0, length) hold the tokens so far.
struct Batch {
  torch::Tensor ids, valid, positions;
  int64_t length = 0;

  torch::Tensor filled(const torch::Tensor& columns) const { return columns.slice(1, 0, length); }
  Batch select_rows(const torch::Tensor& rows) const {
    return {ids.index_select(0, rows), valid.index_select(0, rows), positions.index_select(0, rows),
            length};
  }
};

Batch left_padded(const std::vector<std::vector<int>>& prompts, int64_t new_tokens,
                  torch::Device device) {
  const int64_t b = static_cast<int64_t>(prompts.size());
  size_t longest = 0;
  for (const auto& prompt : prompts) {
    if (prompt.empty()) throw Error("generate: empty prompt (add at least a BOS token)");
    longest = std::max(longest, prompt.size());
  }
  const int64_t l = static_cast<int64_t>(longest);
  torch::Tensor ids = torch::zeros({b, l + new_tokens}, torch::kInt64);
  torch::Tensor valid = torch::zeros({b, l + new_tokens}, torch::kBool);
  auto id = ids.accessor<int64_t, 2>();
  auto is_valid = valid.accessor<bool, 2>();
  for (int64_t row = 0; row < b; ++row) {
    const auto& prompt = prompts[row];
    const int64_t pad = l - static_cast<int64_t>(prompt.size());
    for (int64_t i = 0; i < static_cast<int64_t>(prompt.size()); ++i) {
      id[row][pad + i] = prompt[i];
      is_valid[row][pad + i] = true;
    }
  }
  const torch::Tensor prompt_positions =
      (valid.slice(1, 0, l).to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
  const torch::Tensor new_positions =
      prompt_positions.slice(1, -1) + torch::arange(1, new_tokens + 1, torch::kInt64);
  const torch::Tensor positions = torch::cat({prompt_positions, new_positions}, 1);
  return {ids.to(device), valid.to(device), positions.to(device), l};
}

// Logits [B, V] of the next token after every row of `batch`: a whole recomputation, or only
// the `fresh` last columns through the cache.
torch::Tensor next_logits(Llama& model, const Batch& batch, int64_t fresh, KvCache* cache,
                          const RowContext& context) {
  auto columns = [&](const torch::Tensor& t) {
    return t.slice(1, cache ? batch.length - fresh : 0, batch.length);
  };
  const torch::Tensor hidden =
      model->hidden(model->embed(columns(batch.ids), context.placeholders),
                    columns(batch.positions), columns(batch.valid), cache, context.routing);
  return model->head(hidden.select(1, -1)).to(torch::kFloat32);
}

// Writes the next column: ids and validity [B] (on any device).
void append_column(Batch& batch, const torch::Tensor& ids, const torch::Tensor& valid) {
  batch.ids.select(1, batch.length).copy_(ids);
  batch.valid.select(1, batch.length).copy_(valid);
  ++batch.length;
}

// The logits with the banned tokens, and before min_new_tokens the stop tokens, at -inf.
torch::Tensor without_banned(torch::Tensor logits, const GenerationOptions& options, int64_t step) {
  std::vector<int64_t> banned;
  auto add = [&](const std::vector<int>& ids) {
    for (int id : ids)
      if (id >= 0 && id < logits.size(1)) banned.push_back(id);
  };
  add(options.banned_tokens);
  if (step < options.min_new_tokens) add(options.stop_tokens);
  if (banned.empty()) return logits;
  return logits.index_fill(1, torch::tensor(banned, torch::kInt64).to(logits.device()),
                           -std::numeric_limits<float>::infinity());
}

bool is_stop(const GenerationOptions& options, int64_t token) {
  return std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) !=
         options.stop_tokens.end();
}

// The tokens so far with padding as -1 (which the sampler ignores, as it does placeholder ids
// beyond the vocabulary), for the repetition penalty; undefined when it is off.
torch::Tensor penalty_history(const GenerationOptions& options, const Batch& batch) {
  if (options.sampling.repetition_penalty == 1.0) return {};
  return batch.filled(batch.ids).masked_fill(~batch.filled(batch.valid), -1);
}

GenerationResult sample_batch(Llama& model, const std::vector<std::vector<int>>& prompts,
                              const GenerationOptions& options, const RowContext& context) {
  const torch::Device device = model->embed_tokens->weight.device();
  Batch batch = left_padded(prompts, options.max_new_tokens, device);
  const int64_t b = batch.ids.size(0);
  std::optional<KvCache> cache;
  if (options.use_cache) cache.emplace(model->make_cache(b, batch.ids.size(1)));
  Sampler sampler(options.sampling, options.seed);
  GenerationResult result;
  result.tokens.resize(prompts.size());
  std::vector<bool> finished(prompts.size(), false);
  int64_t unfinished = b;
  torch::Tensor logits =
      next_logits(model, batch, batch.length, cache ? &*cache : nullptr, context);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    if (options.keep_logits) result.step_logits.push_back(logits.cpu());
    // One device-to-host copy per step; rows are then read and updated on the host.
    torch::Tensor chosen =
        sampler.next(without_banned(logits, options, step), penalty_history(options, batch))
            .to(torch::kCPU, torch::kInt64)
            .contiguous();
    torch::Tensor alive = torch::empty({b}, torch::kBool);
    int64_t* token = chosen.data_ptr<int64_t>();
    bool* is_alive = alive.data_ptr<bool>();
    for (int64_t row = 0; row < b; ++row) {
      is_alive[row] = !finished[row];
      if (finished[row]) {
        token[row] = 0;
        continue;
      }
      result.tokens[row].push_back(static_cast<int>(token[row]));
      if (is_stop(options, token[row])) {
        finished[row] = true;
        --unfinished;
      }
    }
    if (unfinished == 0 || step + 1 == options.max_new_tokens) break;
    append_column(batch, chosen, alive);
    logits = next_logits(model, batch, 1, cache ? &*cache : nullptr, context);
  }
  return result;
}

// Beam search for one prompt; a hypothesis ends at a stop token or max_new_tokens; scores are
// sums of log-probabilities divided by the length (HF length_penalty 1). Search ends when
// num_beams hypotheses have ended. Returns the num_return_sequences best ended hypotheses, best
// first (running beams fill in when fewer have ended).
std::vector<std::vector<int>> beam_search_one(Llama& model, const std::vector<int>& prompt,
                                              const GenerationOptions& options,
                                              const RowContext& context) {
  const torch::Device device = model->embed_tokens->weight.device();
  const int64_t k = options.num_beams;
  Batch batch = left_padded({prompt}, options.max_new_tokens, device);
  std::optional<KvCache> cache;
  if (options.use_cache) cache.emplace(model->make_cache(1, batch.ids.size(1)));
  Sampler penalty({false, 1.0, 0, 1.0, options.sampling.repetition_penalty}, options.seed);
  torch::Tensor logits =
      next_logits(model, batch, batch.length, cache ? &*cache : nullptr, context);
  std::vector<std::vector<int>> beams = {{}};
  std::vector<double> scores = {0.0};
  std::vector<std::pair<double, std::vector<int>>> ended;
  for (int64_t step = 0; step < options.max_new_tokens && static_cast<int64_t>(ended.size()) < k;
       ++step) {
    const torch::Tensor log_probs =
        penalty.process(without_banned(logits, options, step), penalty_history(options, batch))
            .log_softmax(1)
            .cpu();
    const torch::Tensor total =
        log_probs + torch::tensor(scores, torch::kFloat64).to(torch::kFloat32).unsqueeze(1);
    const auto [best, flat] = total.flatten().topk(std::min<int64_t>(2 * k, total.numel()));
    std::vector<int64_t> parents;
    std::vector<int64_t> tokens;
    std::vector<double> new_scores;
    for (int64_t i = 0; i < best.size(0) && static_cast<int64_t>(parents.size()) < k; ++i) {
      const int64_t index = flat[i].item<int64_t>();
      const int64_t parent = index / total.size(1), token = index % total.size(1);
      std::vector<int> sequence = beams[parent];
      sequence.push_back(static_cast<int>(token));
      const double score = best[i].item<double>();
      if (is_stop(options, token) || step + 1 == options.max_new_tokens) {
        if (static_cast<int64_t>(ended.size()) < k)
          ended.emplace_back(score / static_cast<double>(sequence.size()), std::move(sequence));
        continue;
      }
      parents.push_back(parent);
      tokens.push_back(token);
      new_scores.push_back(score);
    }
    if (parents.empty() || static_cast<int64_t>(ended.size()) >= k) break;
    const torch::Tensor rows = torch::tensor(parents, torch::kInt64);
    std::vector<std::vector<int>> next_beams;
    for (size_t i = 0; i < parents.size(); ++i) {
      next_beams.push_back(beams[parents[i]]);
      next_beams.back().push_back(static_cast<int>(tokens[i]));
    }
    beams = std::move(next_beams);
    scores = std::move(new_scores);
    const torch::Tensor device_rows = rows.to(device);
    batch = batch.select_rows(device_rows);
    if (cache) cache->select_rows(device_rows);
    const RowContext beam_context =
        context.select_rows(torch::zeros({rows.size(0)}, torch::kInt64));
    append_column(
        batch, torch::tensor(tokens, torch::kInt64).to(device),
        torch::ones({rows.size(0)}, torch::TensorOptions().dtype(torch::kBool).device(device)));
    logits = next_logits(model, batch, 1, cache ? &*cache : nullptr, beam_context);
  }
  // Stable: among equal scores the hypothesis that ended first comes first.
  std::stable_sort(ended.begin(), ended.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::vector<int>> best;
  const size_t wanted = static_cast<size_t>(std::max<int64_t>(options.num_return_sequences, 1));
  for (size_t i = 0; i < ended.size() && best.size() < wanted; ++i)
    best.push_back(std::move(ended[i].second));
  for (size_t i = 0; i < beams.size() && best.size() < wanted; ++i) best.push_back(beams[i]);
  return best;
}

}  // namespace

GenerationResult generate(Llama& model, const std::vector<std::vector<int>>& prompts,
                          const GenerationOptions& options, const Routing& routing,
                          const Placeholders& placeholders) {
  if (options.num_beams > 1) return beam_search(model, prompts, options, routing, placeholders);
  // Inference mode rather than only no-grad: no version counters or view tracking per op.
  c10::InferenceMode inference;
  if (options.max_new_tokens <= 0) {
    GenerationResult empty;
    empty.tokens.resize(prompts.size());
    return empty;
  }
  return sample_batch(model, prompts, options, {routing, placeholders});
}

GenerationResult beam_search(Llama& model, const std::vector<std::vector<int>>& prompts,
                             const GenerationOptions& options, const Routing& routing,
                             const Placeholders& placeholders) {
  c10::InferenceMode inference;
  const RowContext context{routing, placeholders};
  if (options.num_return_sequences > options.num_beams)
    throw Error("generate: num_return_sequences (" + std::to_string(options.num_return_sequences) +
                ") is more than num_beams (" + std::to_string(options.num_beams) + ")");
  GenerationResult result;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const torch::Tensor row = torch::tensor({static_cast<int64_t>(i)}, torch::kInt64);
    result.hypotheses.push_back(
        options.max_new_tokens <= 0
            ? std::vector<std::vector<int>>{{}}
            : beam_search_one(model, prompts[i], options, context.select_rows(row)));
    result.tokens.push_back(result.hypotheses.back().front());
  }
  return result;
}

GenerationOptions answer_generation_options(const Tokenizer& tokenizer) {
  GenerationOptions options;
  options.stop_tokens = tokenizer.end_of_generation_ids();
  for (int id : {tokenizer.bos_id(), tokenizer.pad_id()})
    if (id >= 0 && std::find(options.stop_tokens.begin(), options.stop_tokens.end(), id) ==
                       options.stop_tokens.end())
      options.banned_tokens.push_back(id);
  return options;
}

}  // namespace gavamoe
