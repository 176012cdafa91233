// MF (matrix_factorization.hpp).
#include "gavamoe/rec/matrix_factorization.hpp"

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"

namespace gavamoe {

nlohmann::json MfOptions::to_json() const {
  return {{"n_users", n_users}, {"n_items", n_items}, {"dim", dim}};
}

void MfOptions::check() const {
  if (n_users < 2 || n_items < 2 || dim < 1)
    throw Error("mf: needs at least one user, one item and a positive width (rec.mf_dim)");
  check_rec_size("rec.mf_dim", dim, kMaxRecWidth);
}

int64_t MfOptions::num_parameters() const { return (n_users + n_items) * dim; }

MfOptions MfOptions::from_json(const nlohmann::json& j, const std::string& origin) {
  MfOptions o;
  o.n_users = json_value<int64_t>(j, "n_users", origin);
  o.n_items = json_value<int64_t>(j, "n_items", origin);
  o.dim = json_value<int64_t>(j, "dim", origin);
  return o;
}

MatrixFactorization::MatrixFactorization(const MfOptions& o) : options(o) {
  o.check();
  user_embedding = register_module(
      "user_embedding",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(o.n_users, o.dim).padding_idx(0)));
  item_embedding = register_module(
      "item_embedding",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(o.n_items, o.dim).padding_idx(0)));
}

torch::Tensor MatrixFactorization::user_vectors(const UserBatch& batch) {
  return user_embedding(batch.users);
}

torch::Tensor MatrixFactorization::item_vectors(const torch::Tensor& ids) {
  return item_embedding(ids);
}

}  // namespace gavamoe
