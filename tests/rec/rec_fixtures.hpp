// Small sequence data for the rec tests: a dataset built in memory, a tiny MovieLens folder and
// a tiny SASRec / MF with random weights.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gavamoe/rec/matrix_factorization.hpp"
#include "gavamoe/rec/sasrec.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"
#include "test_util.hpp"

namespace gavamoe::test {

// `sequences[u]` is user u+1's items; items 1..n_items-1 get titles "Item <id>".
inline SequenceDataset make_sequences(const std::vector<std::vector<int64_t>>& sequences,
                                      int64_t n_items) {
  SequenceDataset data;
  data.path = "memory";
  for (size_t u = 0; u < sequences.size(); ++u) {
    data.users.push_back(static_cast<int64_t>(u) + 1);
    data.sequences.push_back(sequences[u]);
  }
  for (int64_t i = 1; i < n_items; ++i)
    data.items.push_back(ItemInfo::from_metadata(
        {{"title", "Item " + std::to_string(i)}, {"feature", {"f" + std::to_string(i % 3)}}},
        "test"));
  return data;
}

// Random sequences of `users` users over items 1..n_items-1, lengths in [min_len, max_len].
inline SequenceDataset random_sequences(int64_t users, int64_t n_items, int64_t min_len,
                                        int64_t max_len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int64_t>> sequences;
  for (int64_t u = 0; u < users; ++u) {
    const int64_t n = min_len + static_cast<int64_t>(rng() % (max_len - min_len + 1));
    std::vector<int64_t> items;
    while (static_cast<int64_t>(items.size()) < n) {
      const int64_t item = 1 + static_cast<int64_t>(rng() % (n_items - 1));
      if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
    }
    sequences.push_back(items);
  }
  return make_sequences(sequences, n_items);
}

inline SasrecOptions tiny_sasrec_options(int64_t n_items) {
  SasrecOptions o;
  o.n_items = n_items;
  o.dim = 16;
  o.layers = 2;
  o.heads = 4;
  o.ffn = 32;
  o.max_history = 5;
  o.hidden_dropout = 0.3;
  o.attn_dropout = 0.2;
  return o;
}

inline std::shared_ptr<Sasrec> random_sasrec(int64_t n_items, uint64_t seed) {
  torch::manual_seed(seed);
  auto model = std::make_shared<Sasrec>(tiny_sasrec_options(n_items));
  init_recommender(*model, 0.3);  // larger than 0.02, so scores differ clearly
  model->eval();
  return model;
}

inline std::shared_ptr<MatrixFactorization> random_mf(int64_t n_users, int64_t n_items,
                                                      uint64_t seed) {
  torch::manual_seed(seed);
  auto model = std::make_shared<MatrixFactorization>(MfOptions{n_users, n_items, 8});
  init_recommender(*model, 0.5);
  model->eval();
  return model;
}

// "id|title|date||url|19 flags" lines for u.item.
inline std::string u_item_line(int64_t id, const std::string& title, int genre) {
  std::string line =
      std::to_string(id) + "|" + title + "|01-Jan-1995||http://x/" + std::to_string(id);
  for (int g = 0; g < 19; ++g) line += g == genre ? "|1" : "|0";
  return line + "\n";
}

}  // namespace gavamoe::test
