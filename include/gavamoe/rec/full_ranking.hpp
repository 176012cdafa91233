// Full-ranking evaluation (UniRec's one_vs_all protocol): every item is a candidate except the
// padding id 0 and the items of the user's history before the target (they are masked); the
// target stays a candidate even when it occurs in that history. Metrics: ranking_metrics.hpp.
// Baselines: popularity (training-part counts, leave_one_out.hpp) and random (a constant
// score: every order equally likely, so its metrics are the analytic expectation).
// Shapes: B targets of a batch, M items, L history length.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "gavamoe/rec/leave_one_out.hpp"
#include "gavamoe/rec/ranking_metrics.hpp"
#include "gavamoe/rec/recommender.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

// The model input of targets[begin, end): uids [B] and histories [B, L] (L = history_length).
UserBatch make_user_batch(const SequenceDataset& data, const std::vector<SequenceTarget>& targets,
                          size_t begin, size_t end, int64_t history_length,
                          torch::Device device = torch::kCPU);

// Rank counts of one batch: scores [B, M] (any device), the targets' ids [B] and the items to
// mask per row (besides id 0).
std::vector<RankCount> rank_counts(const torch::Tensor& scores, const torch::Tensor& targets,
                                   const std::vector<std::vector<int64_t>>& masked);

// The model's metrics on `targets` (eval mode, no gradients; the caller sets the mode).
RankingMetrics evaluate_recommender(Recommender& model, const SequenceDataset& data,
                                    const std::vector<SequenceTarget>& targets,
                                    int64_t batch_size = 1024);

// Metrics of one fixed score per item [M] (the same for every user).
RankingMetrics evaluate_item_scores(const torch::Tensor& item_scores, const SequenceDataset& data,
                                    const std::vector<SequenceTarget>& targets,
                                    int64_t batch_size = 1024);

// Interactions of each item in the training part of every sequence, [M] float.
torch::Tensor training_popularity(const SequenceDataset& data, const LeaveOneOutSplit& split);

}  // namespace gavamoe
