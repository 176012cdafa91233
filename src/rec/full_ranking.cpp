// Full-ranking evaluation (full_ranking.hpp). Shapes: B targets, M items, L history.
#include "gavamoe/rec/full_ranking.hpp"

#include <algorithm>

namespace gavamoe {
namespace {

std::vector<std::vector<int64_t>> histories_before(const SequenceDataset& data,
                                                   const std::vector<SequenceTarget>& targets,
                                                   size_t begin, size_t end) {
  std::vector<std::vector<int64_t>> masked;
  for (size_t t = begin; t < end; ++t) {
    const auto& sequence = data.sequences[targets[t].user];
    masked.emplace_back(sequence.begin(), sequence.begin() + targets[t].position);
  }
  return masked;
}

torch::Tensor target_ids(const SequenceDataset& data, const std::vector<SequenceTarget>& targets,
                         size_t begin, size_t end) {
  std::vector<int64_t> ids;
  for (size_t t = begin; t < end; ++t)
    ids.push_back(data.sequences[targets[t].user][targets[t].position]);
  return torch::tensor(ids, torch::kLong);
}

}  // namespace

UserBatch make_user_batch(const SequenceDataset& data, const std::vector<SequenceTarget>& targets,
                          size_t begin, size_t end, int64_t history_length, torch::Device device) {
  const auto B = static_cast<int64_t>(end - begin);
  std::vector<int64_t> users, histories;
  users.reserve(B);
  histories.reserve(B * history_length);
  for (size_t t = begin; t < end; ++t) {
    users.push_back(data.users[targets[t].user]);
    if (history_length > 0) {
      const auto h = padded_history(data, targets[t], history_length);
      histories.insert(histories.end(), h.begin(), h.end());
    }
  }
  UserBatch batch;
  batch.users = torch::tensor(users, torch::kLong).to(device);
  batch.histories = torch::tensor(histories, torch::kLong).view({B, history_length}).to(device);
  return batch;
}

std::vector<RankCount> rank_counts(const torch::Tensor& scores, const torch::Tensor& targets,
                                   const std::vector<std::vector<int64_t>>& masked) {
  const auto s = scores.to(torch::kCPU, torch::kFloat).contiguous();  // [B, M]
  const int64_t B = s.size(0), M = s.size(1);
  auto candidate = torch::ones({B, M}, torch::kBool);
  auto cand = candidate.accessor<bool, 2>();
  const auto target = targets.to(torch::kCPU, torch::kLong).contiguous();
  const auto tgt = target.accessor<int64_t, 1>();
  for (int64_t b = 0; b < B; ++b) {
    cand[b][0] = false;
    for (int64_t item : masked[b]) cand[b][item] = false;
    cand[b][tgt[b]] = true;
  }
  const auto target_score = s.gather(1, target.view({B, 1}));  // [B, 1]
  const auto greater = ((s > target_score) & candidate).sum(1);
  const auto equal = ((s == target_score) & candidate).sum(1);
  std::vector<RankCount> counts(B);
  for (int64_t b = 0; b < B; ++b)
    counts[b] = {greater[b].item<int64_t>(), equal[b].item<int64_t>() - 1};
  return counts;
}

RankingMetrics evaluate_recommender(Recommender& model, const SequenceDataset& data,
                                    const std::vector<SequenceTarget>& targets,
                                    int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const torch::Device device = model.parameters().front().device();
  const auto items = model.item_vectors();  // [M, D]
  RankingMetrics metrics;
  for (size_t begin = 0; begin < targets.size(); begin += batch_size) {
    const size_t end = std::min(targets.size(), begin + static_cast<size_t>(batch_size));
    const auto batch = make_user_batch(data, targets, begin, end, model.history_length(), device);
    const auto scores = model.user_vectors(batch).matmul(items.t());
    for (const auto& count : rank_counts(scores, target_ids(data, targets, begin, end),
                                         histories_before(data, targets, begin, end)))
      metrics.add(count);
  }
  return metrics;
}

RankingMetrics evaluate_item_scores(const torch::Tensor& item_scores, const SequenceDataset& data,
                                    const std::vector<SequenceTarget>& targets,
                                    int64_t batch_size) {
  RankingMetrics metrics;
  const auto row = item_scores.to(torch::kFloat).view({1, -1});
  for (size_t begin = 0; begin < targets.size(); begin += batch_size) {
    const size_t end = std::min(targets.size(), begin + static_cast<size_t>(batch_size));
    const auto scores = row.expand({static_cast<int64_t>(end - begin), row.size(1)});
    for (const auto& count : rank_counts(scores, target_ids(data, targets, begin, end),
                                         histories_before(data, targets, begin, end)))
      metrics.add(count);
  }
  return metrics;
}

torch::Tensor training_popularity(const SequenceDataset& data, const LeaveOneOutSplit& split) {
  std::vector<float> counts(data.n_items(), 0.0f);
  for (size_t u = 0; u < data.sequences.size(); ++u)
    for (int64_t p = 0; p < split.training_part[u]; ++p) counts[data.sequences[u][p]] += 1.0f;
  return torch::tensor(counts);
}

}  // namespace gavamoe
