// The nearest-training-record baseline; see retrieval_baseline.hpp.
//
// Shapes: N training records, Q queries, D latent width.
#include "gavamoe/infer/retrieval_baseline.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/vae_predict.hpp"

namespace gavamoe {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Index = std::unordered_map<std::string, std::vector<int64_t>>;

struct PairLatents {
  std::vector<VaePrediction> predictions;
  torch::Tensor mu;  // [B, D] float32, contiguous
};

PairLatents pair_latents(TrainedVae& vae, const std::vector<Record>& records, UnknownIds policy) {
  Pairs pairs;
  pairs.reserve(records.size());
  for (const Record& record : records) pairs.emplace_back(record.user, record.item);
  PairLatents out;
  out.predictions = predict_pairs(vae, pairs, policy);
  std::vector<int64_t> users, items;
  for (const VaePrediction& p : out.predictions) {
    users.push_back(p.user_row);
    items.push_back(p.item_row);
  }
  out.mu = mean_latents(vae.model, torch::tensor(users, torch::kLong),
                        torch::tensor(items, torch::kLong))
               .contiguous();
  return out;
}

double squared_distance(const float* a, const float* b, int64_t width) {
  double total = 0;
  for (int64_t d = 0; d < width; ++d) {
    const double diff = static_cast<double>(a[d]) - static_cast<double>(b[d]);
    total += diff * diff;
  }
  return total;
}

}  // namespace

int64_t RetrievalResult::count(RetrievedFrom source) const {
  return std::count(sources.begin(), sources.end(), source);
}

RetrievalResult retrieve_explanations(TrainedVae& vae, const std::vector<Record>& train,
                                      const std::vector<Record>& queries, UnknownIds policy) {
  const auto start = std::chrono::steady_clock::now();
  Index by_item, by_user;
  std::vector<int64_t> with_text;
  for (int64_t n = 0; n < static_cast<int64_t>(train.size()); ++n) {
    if (!train[n].has_text) continue;
    by_item[train[n].item].push_back(n);
    by_user[train[n].user].push_back(n);
    with_text.push_back(n);
  }
  if (with_text.empty()) throw Error("retrieval: no training record has an explanation");

  const PairLatents train_latents = pair_latents(vae, train, policy);
  const PairLatents query_latents = pair_latents(vae, queries, policy);
  const int64_t width = train_latents.mu.size(1);
  const float* train_mu = train_latents.mu.data_ptr<float>();
  const float* query_mu = query_latents.mu.data_ptr<float>();

  RetrievalResult result;
  for (int64_t q = 0; q < static_cast<int64_t>(queries.size()); ++q) {
    const Record& query = queries[q];
    const std::vector<int64_t>* candidates = &with_text;
    RetrievedFrom source = RetrievedFrom::any_record;
    if (auto item = by_item.find(query.item); item != by_item.end()) {
      candidates = &item->second;
      source = RetrievedFrom::same_item;
    } else if (auto user = by_user.find(query.user); user != by_user.end()) {
      candidates = &user->second;
      source = RetrievedFrom::same_user;
    }
    const float* query_row = query_mu + q * width;
    int64_t nearest = candidates->front();
    double nearest_distance = squared_distance(query_row, train_mu + nearest * width, width);
    for (int64_t n : *candidates) {  // ascending, so `<` keeps the earliest of a tie
      const double distance = squared_distance(query_row, train_mu + n * width, width);
      if (distance < nearest_distance) {
        nearest = n;
        nearest_distance = distance;
      }
    }
    result.rows.push_back(
        prediction_row(query, query_latents.predictions[q], train[nearest].explanation));
    result.retrieved.push_back(nearest);
    result.sources.push_back(source);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double per_record_ms = queries.empty() ? 0.0 : 1000.0 * result.seconds / queries.size();
  for (PredictionRow& row : result.rows) row.latency_ms = per_record_ms;
  return result;
}

}  // namespace gavamoe
