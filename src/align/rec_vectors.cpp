// The recommender's user and item vectors of alignment samples (rec_vectors.hpp).
#include "gavamoe/align/rec_vectors.hpp"

#include <algorithm>

#include "gavamoe/rec/full_ranking.hpp"
#include "gavamoe/rec/user_sequences.hpp"

namespace gavamoe {

RecVectors rec_vectors(Recommender& recommender, const SequenceDataset& data,
                       const std::vector<AlignQuery>& queries, const std::string& source) {
  torch::NoGradGuard no_grad;
  recommender.eval();
  const UserSequences sequences(data);
  const int64_t width = recommender.dim();
  RecVectors vectors;
  vectors.items = recommender.item_vectors().to(torch::kCPU, torch::kFloat32).contiguous();
  vectors.users = torch::zeros({static_cast<int64_t>(queries.size()), width});
  std::vector<SequenceTarget> targets;
  std::vector<int64_t> rows;
  for (size_t q = 0; q < queries.size(); ++q) {
    if (queries[q].uid <= 0) continue;
    targets.push_back(
        sequences.target(queries[q].uid, queries[q].iid, source + ": sample " + std::to_string(q)));
    rows.push_back(static_cast<int64_t>(q));
  }
  const torch::Device device = recommender.parameters().front().device();
  constexpr size_t kBatch = 512;
  for (size_t begin = 0; begin < targets.size(); begin += kBatch) {
    const size_t end = std::min(targets.size(), begin + kBatch);
    const UserBatch batch =
        make_user_batch(data, targets, begin, end, recommender.history_length(), device);
    const torch::Tensor users = recommender.user_vectors(batch).to(torch::kCPU, torch::kFloat32);
    const torch::Tensor at =
        torch::tensor(std::vector<int64_t>(rows.begin() + begin, rows.begin() + end), torch::kLong);
    vectors.users.index_copy_(0, at, users);
  }
  return vectors;
}

std::vector<std::vector<int64_t>> query_histories(const SequenceDataset& data,
                                                  const std::vector<AlignQuery>& queries,
                                                  int64_t history_length,
                                                  const std::string& source) {
  const UserSequences sequences(data);
  std::vector<std::vector<int64_t>> histories;
  histories.reserve(queries.size());
  for (size_t q = 0; q < queries.size(); ++q)
    histories.push_back(sequences.history(queries[q].uid, queries[q].iid, history_length,
                                          source + ": sample " + std::to_string(q)));
  return histories;
}

}  // namespace gavamoe
