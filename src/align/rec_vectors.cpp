// The recommender's user and item vectors of alignment samples (rec_vectors.hpp).
#include "gavamoe/align/rec_vectors.hpp"

#include <algorithm>
#include <unordered_map>

#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/full_ranking.hpp"

namespace gavamoe {
namespace {

// The sequence and the history end of `query`: items [0, position) come before it.
SequenceTarget query_target(const SequenceDataset& data,
                            const std::unordered_map<int64_t, int64_t>& index_of_uid,
                            const AlignQuery& query, const std::string& where) {
  const auto found = index_of_uid.find(query.uid);
  if (found == index_of_uid.end())
    throw Error(where + ": user " + std::to_string(query.uid) + " is not in " + data.path);
  const auto& sequence = data.sequences[found->second];
  if (query.iid == -1) return {found->second, static_cast<int64_t>(sequence.size())};
  const auto at = std::find(sequence.begin(), sequence.end(), query.iid);
  if (at == sequence.end())
    throw Error(where + ": item " + std::to_string(query.iid) + " is not in the sequence of user " +
                std::to_string(query.uid));
  return {found->second, static_cast<int64_t>(at - sequence.begin())};
}

std::unordered_map<int64_t, int64_t> uid_index(const SequenceDataset& data) {
  std::unordered_map<int64_t, int64_t> index;
  for (size_t i = 0; i < data.users.size(); ++i) index[data.users[i]] = static_cast<int64_t>(i);
  return index;
}

}  // namespace

RecVectors rec_vectors(Recommender& recommender, const SequenceDataset& data,
                       const std::vector<AlignQuery>& queries, const std::string& source) {
  torch::NoGradGuard no_grad;
  recommender.eval();
  const auto index_of_uid = uid_index(data);
  const int64_t width = recommender.dim();
  RecVectors vectors;
  vectors.items = recommender.item_vectors().to(torch::kCPU, torch::kFloat32).contiguous();
  vectors.users = torch::zeros({static_cast<int64_t>(queries.size()), width});
  std::vector<SequenceTarget> targets;
  std::vector<int64_t> rows;
  for (size_t q = 0; q < queries.size(); ++q) {
    if (queries[q].uid <= 0) continue;
    targets.push_back(
        query_target(data, index_of_uid, queries[q], source + ": sample " + std::to_string(q)));
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
  const auto index_of_uid = uid_index(data);
  std::vector<std::vector<int64_t>> histories;
  histories.reserve(queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    const SequenceTarget target =
        query_target(data, index_of_uid, queries[q], source + ": sample " + std::to_string(q));
    const auto& sequence = data.sequences[target.user];
    const int64_t begin = std::max<int64_t>(0, target.position - history_length);
    histories.emplace_back(sequence.begin() + begin, sequence.begin() + target.position);
  }
  return histories;
}

}  // namespace gavamoe
