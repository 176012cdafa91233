// The target recommender's vectors for alignment samples (spec section 4, "Rec vectors").
//
// User vector: SASRec reads the same history its labels were made from, the last
// history_length items before the first occurrence of the sample's item in the user's sequence
// (the whole sequence for iid -1, uid2hist's validation samples); MF reads the user's row. The
// recommender runs in eval mode, so the vectors are deterministic and are computed once (the
// original leaves SASRec's dropout on while the LLM trains; gavamoe does not). Item vectors are
// rows of the item table. Shapes: N samples, M items, D width.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "gavamoe/align/alignment_prompt.hpp"
#include "gavamoe/rec/recommender.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

struct RecVectors {
  torch::Tensor users;  // [N, D] float32, zero rows for item tasks (uid 0)
  torch::Tensor items;  // [M, D] float32, the item table
};

// An unknown uid, or an item not in the user's sequence, is one error naming `source` and the
// sample.
RecVectors rec_vectors(Recommender& recommender, const SequenceDataset& data,
                       const std::vector<AlignQuery>& queries, const std::string& source);

// The history each user vector sees for `queries` (the explanations' history): the same items
// as above, oldest first; errors as rec_vectors'.
std::vector<std::vector<int64_t>> query_histories(const SequenceDataset& data,
                                                  const std::vector<AlignQuery>& queries,
                                                  int64_t history_length,
                                                  const std::string& source);

}  // namespace gavamoe
