// The text a dataset's own tokenizer is trained on.
//
// The explanations of the training subset, plus the explainer's prompt in the paper's wording
// once per (sentiment, feature) of that subset, so that prompt words get pieces of their own.
#pragma once

#include <string>
#include <vector>

#include "gavamoe/data/dataset.hpp"

namespace gavamoe {

// Throws (naming the dataset) when the data has no text.
std::vector<std::string> tokenizer_corpus(const Dataset& dataset);

}  // namespace gavamoe
