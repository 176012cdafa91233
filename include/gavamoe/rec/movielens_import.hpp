// MovieLens-100k (GroupLens' ml-100k folder) to a SequenceDataset.
//
// u.data ("user<TAB>item<TAB>rating<TAB>unix time"): every rating is an interaction (no rating
// filter, as RecAI's preprocessing); each user's movies in time order, equal times in file
// order (sequence_builder.hpp; default 5-core). u.item (Latin-1, converted to UTF-8):
// "id|title (year)|release date|video date|IMDb URL|19 genre flags"; the metadata line is
// {"movie_id", "title", "feature": the genre names flagged (the "unknown" genre left out),
// "release_date", "imdb_url"} (empty fields left out). The 18 titles that ml-100k lists under two
// ids are made unique in movie-id order: the later id's title gets " [2]" (unique_titles.hpp).
// u.user ("id|age|gender|occupation|zip"), when present, becomes user_metadata.json
// ({"user_id", "age", "gender", "occupation", "zip"}). Errors name the file and line.
#pragma once

#include <string>

#include "gavamoe/rec/sequence_builder.hpp"

namespace gavamoe {

SequenceDataset import_movielens(const std::string& dir, const SequenceBuildOptions& options,
                                 SequenceBuildReport* report = nullptr);

// ISO-8859-1 bytes to UTF-8.
std::string latin1_to_utf8(const std::string& text);

}  // namespace gavamoe
