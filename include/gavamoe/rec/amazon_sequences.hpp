// An Amazon review dump (5-core, JSON lines, plain or gzipped) to a SequenceDataset, as RecAI's
// data_preprocess_amazon.py + filter_v3.py's metadata clean-up do it.
//
// Reviews: reviewerID, asin, unixReviewTime (other keys are ignored; every rating is kept).
// One record per (user, item) is kept, the earliest (the original's data never repeats a pair;
// repeats are counted), each user's items ordered by unixReviewTime (equal times: file order),
// then the k-core and id maps of sequence_builder.hpp.
//
// With a metadata file (meta_<Category>.json.gz, JSON lines with asin, title, feature,
// description, brand, ...): reviews of items without a non-empty title are dropped (counted);
// "related" and the image URLs are removed; in title and description the two characters
// "\n\t" become a space; title, each feature and each description entry lose the characters
// " \t\n!.,;?/:" at both ends and empty entries are dropped; in the brand "\n    \n    " becomes
// a space. Without one, an item's metadata line is {"asin": ...}: items are named by their id
// and there are no titles (the title tasks of the alignment stage are unavailable).
#pragma once

#include <string>

#include "gavamoe/rec/sequence_builder.hpp"

namespace gavamoe {

struct AmazonSequenceReport {
  SequenceBuildReport build;
  int64_t reviews = 0;
  int64_t reviews_without_title = 0;  // dropped: their item has no title in the metadata
  int64_t metadata_lines = 0;
};

// `meta_path` may be empty.
SequenceDataset import_amazon_sequences(const std::string& reviews_path,
                                        const std::string& meta_path,
                                        const SequenceBuildOptions& options,
                                        AmazonSequenceReport* report = nullptr);

}  // namespace gavamoe
