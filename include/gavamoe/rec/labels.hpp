// `gavamoe rec label`: the recommender-made labels the alignment stage reads, named and laid out
// as RecAI's data4Exp.py writes them (preprocess/unirec_utils/data4Exp.py).
//
// Rows: train_top.txt has one row per item of items[1:-1] of every sequence (RecAI's
// train_ids), test_top.txt `times` rows per user for items[-1] (test_ids; MF's pipeline uses
// times 6); users with one item have no row (counted). Each row is tab-separated:
//   uid  iid  top1  t1,t2,t3,t4,t5  pos  neg  pos_score  neg_score
// with ids as in sequential_data.txt. For the row's (user, item) the model scores all M ids from
// the history before the item (SASRec: its last max_history items; MF: the user id); id 0 and
// the items of that history are masked; the item itself and later items are not. The ranking R
// orders all M ids by score (masked ones last, equal scores by id); the filtered ranking F is R
// without the masked ids.
//   top1   F[r] on the r-th row of a target (r = 0 .. times-1)
//   t1..t5 F at 5 distinct uniformly drawn positions of F, in rank order (not the top 5)
//   pos    drawn from the items scoring above R[M / 5]: the top ~20 %
//   neg    drawn from the unmasked items scoring below R[M / 2] (Python's R[(-M)//2]): the
//          bottom ~50 %; when more than half of all ids are masked (a history longer than M / 2)
//          that set is empty (RecAI would stop with an error) and neg is drawn from the lower
//          half of F instead (F[|F| / 2 ..]); such rows are counted
//   pos and neg of a target's rows are distinct draws (np.random.choice(..., times,
//   replace=False)); pos may be the item itself or top1. Scores are the raw dot products,
//   written as the shortest text that reads back as the same float32.
// sim_item.txt: "i<TAB>j" for i = 1..M-1, j = the item j != i, j >= 1 of the largest dot product
// of the item vectors (ties: the smallest j).
// Draws come from a generator seeded with (seed, file, row), so the files depend only on the
// model, the data and --seed. The three files are written whole or not at all.
// Shapes: B rows of a batch, M items.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/rec/leave_one_out.hpp"
#include "gavamoe/rec/recommender.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

struct LabelRow {
  int64_t uid = 0, iid = 0, top1 = 0;
  std::array<int64_t, 5> topk{};
  int64_t pos = 0, neg = 0;
  float pos_score = 0, neg_score = 0;
};

struct LabelOptions {
  int64_t times = 1;  // test_top.txt rows per user
  uint64_t seed = 1;
  int64_t batch_size = 256;
};

struct LabelReport {
  int64_t train_rows = 0, test_rows = 0;
  int64_t neg_from_lower_half = 0;  // rows whose neg came from the lower half of F
  int64_t skipped_users = 0;
};

// `times` rows per target; `stream` separates the draws of different files.
std::vector<LabelRow> label_rows(Recommender& model, const SequenceDataset& data,
                                 const std::vector<SequenceTarget>& targets, int64_t times,
                                 uint64_t seed, uint64_t stream, int64_t batch_size,
                                 LabelReport* report);

// similar[i] for i = 1..M-1 (entry 0 unused).
std::vector<int64_t> similar_items(Recommender& model);

std::string format_label_row(const LabelRow& row);

// The rows of a train_top.txt / test_top.txt (written by write_labels or by RecAI's data4Exp.py),
// in file order; a malformed line or an id outside 1..n_items-1 (n_items > 0) is a
// gavamoe::Error naming the file and line.
std::vector<LabelRow> read_label_file(const std::string& path, int64_t n_items = 0);
// sim_item.txt as similar[i] (entry 0 and items without a line: 0); errors as above.
std::vector<int64_t> read_similar_items(const std::string& path, int64_t n_items);

// train_top.txt, test_top.txt and sim_item.txt into out_dir (created when missing).
LabelReport write_labels(Recommender& model, const SequenceDataset& data,
                         const std::string& out_dir, const LabelOptions& options);

}  // namespace gavamoe
