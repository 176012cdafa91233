// Training text for a dataset's own tokenizer: training explanations plus prompt sentences.
#include "gavamoe/data/tokenizer_corpus.hpp"

#include <set>
#include <utility>

#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

std::vector<std::string> tokenizer_corpus(const Dataset& dataset) {
  dataset.require_text("tokenizer training");
  std::vector<std::string> sentences;
  std::set<std::pair<bool, std::string>> prompts;  // sorted: the corpus order is fixed
  for (int64_t position : dataset.subset(Subset::train)) {
    const Record& record = dataset.records[static_cast<size_t>(position)];
    sentences.push_back(record.explanation);
    prompts.emplace(record.rating >= 3, record.feature);
  }
  for (const auto& [positive, feature] : prompts)
    sentences.push_back(std::string("The user has a ") + (positive ? "positive" : "negative") +
                        " experience with the item, the item has " + feature +
                        " features, please provide an explanation for recommending " + kItemToken +
                        " to " + kUserToken + ". " + kSeparatorToken);
  return sentences;
}

}  // namespace gavamoe
