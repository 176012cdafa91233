// Batched generation: left padding, per-row positions, KV cache or full recomputation,
// stop tokens, and beam search. Shapes: B rows, L prompt length (padded), V vocabulary.
#include "gavamoe/infer/generator.hpp"

#include <algorithm>
#include <limits>

#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

Routing select_routing(const Routing& routing, const torch::Tensor& rows) {
  Routing selected;
  if (routing.clusters.defined())
    selected.clusters = routing.clusters.index_select(0, rows.to(routing.clusters.device()));
  if (routing.weights.defined())
    selected.weights = routing.weights.index_select(0, rows.to(routing.weights.device()));
  return selected;
}

// Tokens of all rows so far, left-padded: ids and validity [B, L], rotary positions [B, L].
struct Batch {
  torch::Tensor ids, valid, positions;
};

Batch left_padded(const std::vector<std::vector<int>>& prompts, torch::Device device) {
  const int64_t b = static_cast<int64_t>(prompts.size());
  size_t longest = 0;
  for (const auto& prompt : prompts) {
    if (prompt.empty()) throw Error("generate: empty prompt (add at least a BOS token)");
    longest = std::max(longest, prompt.size());
  }
  torch::Tensor ids = torch::zeros({b, static_cast<int64_t>(longest)}, torch::kInt64);
  torch::Tensor valid = torch::zeros({b, static_cast<int64_t>(longest)}, torch::kBool);
  for (int64_t row = 0; row < b; ++row) {
    const auto& prompt = prompts[row];
    const int64_t pad = static_cast<int64_t>(longest - prompt.size());
    for (size_t i = 0; i < prompt.size(); ++i) ids[row][pad + static_cast<int64_t>(i)] = prompt[i];
    valid[row].slice(0, pad).fill_(true);
  }
  const torch::Tensor positions = (valid.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
  return {ids.to(device), valid.to(device), positions.to(device)};
}

// Logits [B, V] of the next token after every row of `batch`: a whole recomputation, or only
// the `fresh` last columns through the cache.
torch::Tensor next_logits(Llama& model, const Batch& batch, int64_t fresh, KvCache* cache,
                          const Routing& routing) {
  auto last = [&](const torch::Tensor& t) { return cache ? t.slice(1, -fresh) : t; };
  const torch::Tensor hidden = model->hidden(model->embed(last(batch.ids)), last(batch.positions),
                                             last(batch.valid), cache, routing);
  return model->head(hidden.select(1, -1)).to(torch::kFloat32);
}

void append_column(Batch& batch, const torch::Tensor& ids, const torch::Tensor& valid) {
  batch.ids = torch::cat({batch.ids, ids.unsqueeze(1)}, 1);
  batch.valid = torch::cat({batch.valid, valid.unsqueeze(1)}, 1);
  batch.positions =
      torch::cat({batch.positions, batch.positions.select(1, -1).unsqueeze(1) + 1}, 1);
}

bool is_stop(const GenerationOptions& options, int64_t token) {
  return std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) !=
         options.stop_tokens.end();
}

GenerationResult sample_batch(Llama& model, const std::vector<std::vector<int>>& prompts,
                              const GenerationOptions& options, const Routing& routing) {
  const torch::Device device = model->embed_tokens->weight.device();
  Batch batch = left_padded(prompts, device);
  const int64_t b = batch.ids.size(0);
  std::optional<KvCache> cache;
  if (options.use_cache)
    cache.emplace(model->make_cache(b, batch.ids.size(1) + options.max_new_tokens));
  Sampler sampler(options.sampling, options.seed);
  GenerationResult result;
  result.tokens.resize(prompts.size());
  std::vector<bool> finished(prompts.size(), false);
  torch::Tensor logits =
      next_logits(model, batch, batch.ids.size(1), cache ? &*cache : nullptr, routing);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    if (options.keep_logits) result.step_logits.push_back(logits.cpu());
    const torch::Tensor history = batch.ids.masked_fill(~batch.valid, 0);
    const torch::Tensor chosen = sampler.next(logits, history).cpu();
    torch::Tensor alive = torch::zeros({b}, torch::kBool);
    for (int64_t row = 0; row < b; ++row) {
      if (finished[row]) continue;
      const int64_t token = chosen[row].item<int64_t>();
      result.tokens[row].push_back(static_cast<int>(token));
      alive[row] = true;
      if (is_stop(options, token)) finished[row] = true;
    }
    if (std::all_of(finished.begin(), finished.end(), [](bool f) { return f; }) ||
        step + 1 == options.max_new_tokens)
      break;
    append_column(batch, chosen.to(device).masked_fill(~alive.to(device), 0), alive.to(device));
    logits = next_logits(model, batch, 1, cache ? &*cache : nullptr, routing);
  }
  return result;
}

// Beam search for one prompt; a hypothesis ends at a stop token or max_new_tokens; scores are
// sums of log-probabilities divided by the length (HF length_penalty 1). Search ends when
// num_beams hypotheses have ended.
std::vector<int> beam_search_one(Llama& model, const std::vector<int>& prompt,
                                 const GenerationOptions& options, const Routing& routing) {
  const torch::Device device = model->embed_tokens->weight.device();
  const int64_t k = options.num_beams;
  Batch batch = left_padded({prompt}, device);
  std::optional<KvCache> cache;
  if (options.use_cache)
    cache.emplace(model->make_cache(1, batch.ids.size(1) + options.max_new_tokens));
  Sampler penalty({false, 1.0, 0, 1.0, options.sampling.repetition_penalty}, options.seed);
  torch::Tensor logits =
      next_logits(model, batch, batch.ids.size(1), cache ? &*cache : nullptr, routing);
  std::vector<std::vector<int>> beams = {{}};
  std::vector<double> scores = {0.0};
  std::vector<std::pair<double, std::vector<int>>> ended;
  Routing beam_routing = routing;
  for (int64_t step = 0; step < options.max_new_tokens && static_cast<int64_t>(ended.size()) < k;
       ++step) {
    const torch::Tensor history = batch.ids;
    const torch::Tensor log_probs = penalty.process(logits, history).log_softmax(1).cpu();
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
    batch = {batch.ids.index_select(0, device_rows), batch.valid.index_select(0, device_rows),
             batch.positions.index_select(0, device_rows)};
    if (cache) cache->select_rows(device_rows);
    beam_routing = select_routing(routing, torch::zeros({rows.size(0)}, torch::kInt64));
    append_column(
        batch, torch::tensor(tokens, torch::kInt64).to(device),
        torch::ones({rows.size(0)}, torch::TensorOptions().dtype(torch::kBool).device(device)));
    logits = next_logits(model, batch, 1, cache ? &*cache : nullptr, beam_routing);
  }
  const auto winner = std::max_element(
      ended.begin(), ended.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return winner == ended.end() ? beams.front() : winner->second;
}

}  // namespace

GenerationResult generate(Llama& model, const std::vector<std::vector<int>>& prompts,
                          const GenerationOptions& options, const Routing& routing) {
  if (options.num_beams > 1) return beam_search(model, prompts, options, routing);
  torch::NoGradGuard no_grad;
  if (options.max_new_tokens <= 0) return {std::vector<std::vector<int>>(prompts.size()), {}};
  return sample_batch(model, prompts, options, routing);
}

GenerationResult beam_search(Llama& model, const std::vector<std::vector<int>>& prompts,
                             const GenerationOptions& options, const Routing& routing) {
  torch::NoGradGuard no_grad;
  GenerationResult result;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const torch::Tensor row = torch::tensor({static_cast<int64_t>(i)}, torch::kInt64);
    result.tokens.push_back(
        options.max_new_tokens <= 0
            ? std::vector<int>()
            : beam_search_one(model, prompts[i], options, select_routing(routing, row)));
  }
  return result;
}

}  // namespace gavamoe
