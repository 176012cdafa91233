// Training examples, padded batches and the unigram baseline (explanation_batches.hpp).
//
// Shapes: B examples, T the longest example of the batch, K clusters.
#include "gavamoe/train/explanation_batches.hpp"

#include <algorithm>
#include <cmath>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

ExampleSet encode_examples(const Dataset& data, const std::vector<int64_t>& positions,
                           const Tokenizer& tokenizer, const PromptOptions& prompt, TrainedVae& vae,
                           UnknownIds unknown_ids) {
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(positions.size());
  for (int64_t r : positions) pairs.emplace_back(data.records[r].user, data.records[r].item);
  const auto clusters = assign_clusters(vae, pairs, unknown_ids);

  auto row = [](const IdMap& ids, const std::string& id, int64_t unknown_row) {
    const int64_t index = ids.find(id);
    return index < 0 ? unknown_row : index;
  };
  ExampleSet set;
  for (size_t k = 0; k < positions.size(); ++k) {
    const Record& record = data.records[positions[k]];
    auto encoded = encode_example(tokenizer, record, prompt);
    if (!encoded) {
      ++set.skipped;
      continue;
    }
    set.truncated += encoded->explanation_truncated;
    ExplanationExample example;
    example.ids = std::move(encoded->ids);
    example.prompt_length = encoded->prompt_length;
    example.user = row(vae.users, record.user, vae.model->unknown_user());
    example.item = row(vae.items, record.item, vae.model->unknown_item());
    example.cluster = clusters[k].cluster;
    example.gamma.assign(clusters[k].gamma.begin(), clusters[k].gamma.end());
    set.examples.push_back(std::move(example));
  }
  return set;
}

ExplainerBatch make_batch(const std::vector<ExplanationExample>& examples,
                          const std::vector<int64_t>& picks, int64_t pad_id, torch::Device device) {
  const auto b = static_cast<int64_t>(picks.size());
  if (b == 0) throw Error("make_batch: no examples");
  int64_t t = 0;
  for (int64_t p : picks) t = std::max<int64_t>(t, examples[p].ids.size());
  const int64_t k = examples[picks[0]].gamma.size();

  auto ids = torch::full({b, t}, pad_id, torch::kLong);
  auto valid = torch::zeros({b, t}, torch::kBool);
  auto targets = torch::full({b, t}, -100, torch::kLong);
  auto users = torch::empty({b}, torch::kLong), items = torch::empty({b}, torch::kLong);
  auto clusters = torch::empty({b}, torch::kLong);
  auto gamma = torch::empty({b, k}, torch::kFloat);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto valid_a = valid.accessor<bool, 2>();
  auto targets_a = targets.accessor<int64_t, 2>();
  auto gamma_a = gamma.accessor<float, 2>();
  auto users_a = users.accessor<int64_t, 1>(), items_a = items.accessor<int64_t, 1>();
  auto clusters_a = clusters.accessor<int64_t, 1>();
  for (int64_t row = 0; row < b; ++row) {
    const ExplanationExample& e = examples[picks[row]];
    const auto length = static_cast<int64_t>(e.ids.size());
    for (int64_t j = 0; j < length; ++j) {
      ids_a[row][j] = e.ids[j];
      valid_a[row][j] = true;
    }
    // Position j predicts token j + 1; only explanation and EOS tokens are predicted.
    for (int64_t j = e.prompt_length - 1; j + 1 < length; ++j) targets_a[row][j] = e.ids[j + 1];
    users_a[row] = e.user;
    items_a[row] = e.item;
    clusters_a[row] = e.cluster;
    for (int64_t c = 0; c < k; ++c) gamma_a[row][c] = e.gamma[c];
  }
  ExplainerBatch batch;
  batch.ids = ids.to(device);
  batch.valid = valid.to(device);
  batch.targets = targets.to(device);
  batch.users = users.to(device);
  batch.items = items.to(device);
  batch.routing.clusters = clusters.to(device);
  batch.routing.weights = gamma.to(device);
  return batch;
}

double unigram_perplexity(const std::vector<ExplanationExample>& trained,
                          const std::vector<ExplanationExample>& evaluated, int64_t vocab_size) {
  std::vector<double> counts(vocab_size, 1.0);  // add-one smoothing
  double total = static_cast<double>(vocab_size);
  auto for_targets = [vocab_size](const std::vector<ExplanationExample>& set, auto&& visit) {
    for (const auto& e : set)
      for (size_t j = e.prompt_length; j < e.ids.size(); ++j) {
        if (e.ids[j] < 0 || e.ids[j] >= vocab_size)
          throw Error("unigram_perplexity: token id " + std::to_string(e.ids[j]) +
                      " is outside the vocabulary");
        visit(e.ids[j]);
      }
  };
  for_targets(trained, [&](int id) {
    counts[id] += 1;
    total += 1;
  });
  double nll = 0, n = 0;
  for_targets(evaluated, [&](int id) {
    nll -= std::log(counts[id] / total);
    n += 1;
  });
  return n > 0 ? std::exp(nll / n) : 0.0;
}

}  // namespace gavamoe
