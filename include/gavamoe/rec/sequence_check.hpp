// Data check for sequence folders (RecExplainer's sequential data): the counterpart of
// data/data_check.hpp, reported by `gavamoe data check` on such a folder and as warnings at the
// start of `rec train`.
//
// Findings: items repeated back to back in a user's sequence, any item repeating an earlier
// one of the same user, and users whose test item (the last) or validation item (the second
// last, rec.split separate) already occurs earlier in their sequence. The last two leak: the
// full-ranking evaluation masks the history but unmasks the target (UniRec's protocol), and the
// model has trained on that user reaching that item, so re-recommending history scores. The
// original preprocessing keeps one record per (user, item), so its folders have none of these;
// gavamoe's importers do the same (README, "Sequence data").
#pragma once

#include "gavamoe/data/data_check.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

DataCheck check_sequences(const SequenceDataset& data);

}  // namespace gavamoe
