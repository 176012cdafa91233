// MF as UniRec configures it for RecExplainer (unirec/model/cf/mf.py, has_user_emb: True):
// a user table (N+1 rows) and an item table (M rows), both with padding row 0; the score is the
// dot product, no biases. Tensor names as UniRec's: user_embedding.weight, item_embedding.weight.
// Shapes: B users, D width.
#pragma once

#include <nlohmann/json.hpp>

#include "gavamoe/rec/recommender.hpp"

namespace gavamoe {

struct MfOptions {
  int64_t n_users = 0;  // N + 1
  int64_t n_items = 0;  // M
  int64_t dim = 512;

  nlohmann::json to_json() const;
  void check() const;              // sizes positive and within recommender.hpp's bounds
  int64_t num_parameters() const;  // of the model these (checked) options build
  static MfOptions from_json(const nlohmann::json& j, const std::string& origin);
};

class MatrixFactorization : public Recommender {
 public:
  explicit MatrixFactorization(const MfOptions& options);

  std::string kind() const override { return "mf"; }
  int64_t dim() const override { return options.dim; }
  int64_t n_items() const override { return options.n_items; }
  int64_t history_length() const override { return 0; }
  torch::Tensor user_vectors(const UserBatch& batch) override;  // [B, D]
  torch::Tensor item_vectors(const torch::Tensor& ids) override;
  using Recommender::item_vectors;

  MfOptions options;
  torch::nn::Embedding user_embedding{nullptr}, item_embedding{nullptr};
};

}  // namespace gavamoe
