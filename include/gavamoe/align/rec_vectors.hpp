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

// The history titles a user vector sees for `query` (uid2hist's answer and the explanations'
// history): the same items as above, oldest first.
std::vector<int64_t> query_history(const SequenceDataset& data, const AlignQuery& query,
                                   int64_t history_length);

}  // namespace gavamoe
