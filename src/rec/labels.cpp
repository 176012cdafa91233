// data4Exp's label rules (labels.hpp). Shapes: B rows of a batch, M items, D width.
#include "gavamoe/rec/labels.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <memory>
#include <sstream>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/rec/full_ranking.hpp"
#include "gavamoe/rec/sampling.hpp"

namespace gavamoe {
namespace {

constexpr int64_t kPositions = 5;
constexpr int64_t kSimilarBlock = 1024;

std::string shortest(float value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// The rows of one target from its raw scores [M], masked scores [M] and ranking [M].
void target_rows(const SequenceDataset& data, const SequenceTarget& target, const float* raw,
                 const float* masked, const int64_t* ranked, int64_t M, int64_t times, Rng& rng,
                 LabelReport* report, std::vector<LabelRow>& rows) {
  const int64_t uid = data.users[target.user];
  const int64_t iid = data.sequences[target.user][target.position];
  const float minus_inf = -std::numeric_limits<float>::infinity();
  int64_t F = 0;  // unmasked ids: a prefix of the ranking
  while (F < M && masked[ranked[F]] != minus_inf) ++F;
  const std::string where = "user " + std::to_string(uid) + ", item " + std::to_string(iid);
  if (F < std::max(kPositions, times))
    throw Error("rec label: " + where + ": only " + std::to_string(F) +
                " items are not in the history; at least " +
                std::to_string(std::max(kPositions, times)) + " are needed");
  const float pos_threshold = masked[ranked[M / 5]];
  const float neg_threshold = masked[ranked[M / 2]];
  int64_t above = 0;  // ranking prefix scoring above pos_threshold
  while (above < F && masked[ranked[above]] > pos_threshold) ++above;
  int64_t below = 0;  // first position scoring below neg_threshold
  while (below < F && !(masked[ranked[below]] < neg_threshold)) ++below;
  if (above < times)
    throw Error("rec label: " + where + ": " + std::to_string(above) +
                " items score above the top-20 % threshold; --times " + std::to_string(times) +
                " needs that many");
  int64_t neg_begin = below;
  if (F - below < times) {
    neg_begin = F / 2;
    if (report) ++report->neg_from_lower_half;
  }
  std::vector<std::array<int64_t, kPositions>> topk(times);
  for (auto& picks : topk) {
    auto positions = draw_distinct(rng, F, kPositions);
    std::sort(positions.begin(), positions.end());
    for (int64_t k = 0; k < kPositions; ++k) picks[k] = ranked[positions[k]];
  }
  const auto pos = draw_distinct(rng, above, times);
  const auto neg = draw_distinct(rng, F - neg_begin, times);
  for (int64_t r = 0; r < times; ++r) {
    LabelRow row;
    row.uid = uid;
    row.iid = iid;
    row.top1 = ranked[r];
    row.topk = topk[r];
    row.pos = ranked[pos[r]];
    row.neg = ranked[neg_begin + neg[r]];
    row.pos_score = raw[row.pos];
    row.neg_score = raw[row.neg];
    rows.push_back(row);
  }
}

}  // namespace

std::vector<LabelRow> label_rows(Recommender& model, const SequenceDataset& data,
                                 const std::vector<SequenceTarget>& targets, int64_t times,
                                 uint64_t seed, uint64_t stream, int64_t batch_size,
                                 LabelReport* report) {
  if (times < 1) throw Error("rec label: --times must be at least 1");
  torch::NoGradGuard no_grad;
  model.eval();
  const torch::Device device = model.parameters().front().device();
  const auto items = model.item_vectors();  // [M, D]
  const int64_t M = items.size(0);
  std::vector<LabelRow> rows;
  rows.reserve(targets.size() * times);
  Progress progress("rec label", static_cast<int64_t>(targets.size()), "row");
  for (size_t begin = 0; begin < targets.size(); begin += batch_size) {
    const size_t end = std::min(targets.size(), begin + static_cast<size_t>(batch_size));
    const auto batch = make_user_batch(data, targets, begin, end, model.history_length(), device);
    const auto raw = model.user_vectors(batch).matmul(items.t()).to(torch::kCPU).contiguous();
    auto masked = raw.clone();  // [B, M]
    auto m = masked.accessor<float, 2>();
    const float minus_inf = -std::numeric_limits<float>::infinity();
    for (size_t t = begin; t < end; ++t) {
      const auto b = static_cast<int64_t>(t - begin);
      m[b][0] = minus_inf;
      const auto& sequence = data.sequences[targets[t].user];
      for (int64_t p = 0; p < targets[t].position; ++p) m[b][sequence[p]] = minus_inf;
    }
    const auto ranked = std::get<1>(masked.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true))
                            .contiguous();  // [B, M]
    for (size_t t = begin; t < end; ++t) {
      const auto b = static_cast<int64_t>(t - begin);
      Rng rng(seed_mix(seed_mix(seed, stream), t));
      target_rows(data, targets[t], raw[b].data_ptr<float>(), masked[b].data_ptr<float>(),
                  ranked[b].data_ptr<int64_t>(), M, times, rng, report, rows);
    }
    progress.update(static_cast<int64_t>(end));
  }
  progress.finish();
  return rows;
}

std::vector<int64_t> similar_items(Recommender& model) {
  torch::NoGradGuard no_grad;
  const auto items = model.item_vectors().to(torch::kCPU);  // [M, D]
  const int64_t M = items.size(0);
  const auto others = items.slice(0, 1, M);  // [M - 1, D], ids 1..M-1
  std::vector<int64_t> similar(M, 0);
  for (int64_t from = 1; from < M; from += kSimilarBlock) {
    const int64_t to = std::min(M, from + kSimilarBlock);
    auto dots = items.slice(0, from, to).matmul(others.t());  // [b, M - 1]
    for (int64_t i = from; i < to; ++i)
      dots[i - from][i - 1] = -std::numeric_limits<float>::infinity();
    const auto best = dots.argmax(1);  // the first maximum: the smallest j on ties
    for (int64_t i = from; i < to; ++i) similar[i] = best[i - from].item<int64_t>() + 1;
  }
  return similar;
}

std::string format_label_row(const LabelRow& row) {
  std::ostringstream out;
  out << row.uid << '\t' << row.iid << '\t' << row.top1 << '\t';
  for (size_t k = 0; k < row.topk.size(); ++k) out << (k ? "," : "") << row.topk[k];
  out << '\t' << row.pos << '\t' << row.neg << '\t' << shortest(row.pos_score) << '\t'
      << shortest(row.neg_score) << '\n';
  return out.str();
}

LabelReport write_labels(Recommender& model, const SequenceDataset& data,
                         const std::string& out_dir, const LabelOptions& options) {
  if (model.n_items() != data.n_items())
    throw Error("rec label: the model has " + std::to_string(model.n_items() - 1) +
                " items, the data " + std::to_string(data.n_items() - 1));
  LabelReport report;
  // RecAI's train_ids / test_ids rows: items[1:-1] and items[-1].
  const LeaveOneOutSplit split = leave_one_out(data, HoldoutMode::original);
  report.skipped_users = split.skipped_users;
  const auto train =
      label_rows(model, data, split.train, 1, options.seed, 1, options.batch_size, &report);
  const auto test = label_rows(model, data, split.test, options.times, options.seed, 2,
                               options.batch_size, &report);
  const auto similar = similar_items(model);
  report.train_rows = static_cast<int64_t>(train.size());
  report.test_rows = static_cast<int64_t>(test.size());

  make_dirs(out_dir);
  std::vector<std::unique_ptr<AtomicFile>> files;
  auto write = [&files](const std::string& path, auto&& fill) {
    files.push_back(std::make_unique<AtomicFile>(path, true));
    fill(files.back()->stream());
  };
  write(out_dir + "/train_top.txt", [&](std::ostream& out) {
    for (const auto& row : train) out << format_label_row(row);
  });
  write(out_dir + "/test_top.txt", [&](std::ostream& out) {
    for (const auto& row : test) out << format_label_row(row);
  });
  write(out_dir + "/sim_item.txt", [&](std::ostream& out) {
    for (size_t i = 1; i < similar.size(); ++i) out << i << '\t' << similar[i] << '\n';
  });
  for (auto& file : files) file->commit();
  return report;
}

}  // namespace gavamoe
