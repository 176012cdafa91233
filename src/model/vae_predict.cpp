// Table rows, clusters and expected ratings of (user, item) pairs; see vae_predict.hpp.
#include "gavamoe/model/vae_predict.hpp"

#include <algorithm>

namespace gavamoe {
namespace {

constexpr int64_t kPredictBatch = 8192;

// mu on the model's device.
torch::Tensor encode_means(VaeGmm& model, const torch::Tensor& users, const torch::Tensor& items) {
  model->eval();
  const auto device = model->prior_means.device();
  return model->encode(users.to(device), items.to(device)).mu;
}

}  // namespace

torch::Tensor mean_latents(VaeGmm& model, const torch::Tensor& users, const torch::Tensor& items) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = 0; begin < users.size(0); begin += kPredictBatch) {
    const int64_t end = std::min(users.size(0), begin + kPredictBatch);
    chunks.push_back(encode_means(model, users.slice(0, begin, end), items.slice(0, begin, end))
                         .to(torch::kCPU, torch::kFloat));
  }
  if (chunks.empty()) return torch::zeros({0, model->options.latent_dim});
  return torch::cat(chunks);
}

torch::Tensor expected_ratings(VaeGmm& model, const torch::Tensor& users,
                               const torch::Tensor& items) {
  torch::NoGradGuard no_grad;
  const auto mu = encode_means(model, users, items);
  const auto probabilities = torch::softmax(model->decode(mu).to(torch::kDouble), 1);
  const auto ratings = torch::arange(1, kRatingClasses + 1, probabilities.options());
  return (probabilities * ratings).sum(1).cpu();
}

std::vector<VaePrediction> predict_pairs(
    TrainedVae& vae, const std::vector<std::pair<std::string, std::string>>& pairs,
    UnknownIds policy) {
  // assign_clusters applies the policy (and names unknown ids); past it, a missing id means
  // the unknown row.
  std::vector<ClusterAssignment> assignments = assign_clusters(vae, pairs, policy);
  const int64_t n = static_cast<int64_t>(pairs.size());
  std::vector<VaePrediction> out(n);
  std::vector<int64_t> users(n), items(n);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t user = vae.users.find(pairs[r].first);
    const int64_t item = vae.items.find(pairs[r].second);
    users[r] = out[r].user_row = user >= 0 ? user : vae.model->unknown_user();
    items[r] = out[r].item_row = item >= 0 ? item : vae.model->unknown_item();
    out[r].assignment = std::move(assignments[r]);
  }
  const auto user_rows = torch::tensor(users, torch::kLong);
  const auto item_rows = torch::tensor(items, torch::kLong);
  for (int64_t begin = 0; begin < n; begin += kPredictBatch) {
    const int64_t end = std::min(n, begin + kPredictBatch);
    const auto rating =
        expected_ratings(vae.model, user_rows.slice(0, begin, end), item_rows.slice(0, begin, end))
            .contiguous();
    const double* values = rating.data_ptr<double>();
    for (int64_t r = begin; r < end; ++r) out[r].expected_rating = values[r - begin];
  }
  return out;
}

}  // namespace gavamoe
