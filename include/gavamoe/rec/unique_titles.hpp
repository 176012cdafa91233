// Unique item titles: exact-title matching (the alignment tasks answer with titles) needs one
// item per title.
//
// Two titles are the same when they agree after trimming blanks and lower-casing ASCII letters
// (the alignment metrics compare titles that way). make_titles_unique walks the items in the
// order given; the first item with a title keeps it, the k-th later one gets " [k]" appended
// to its trimmed title
// (MovieLens-100k: "Chasing Amy (1997)" is movie 246, movie 268 becomes
// "Chasing Amy (1997) [2]"), skipping suffixes that are taken already. Empty titles stay empty.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gavamoe {

std::string title_key(const std::string& title);

// Renames repeated titles in place; returns how many were renamed.
int64_t make_titles_unique(std::vector<std::string>& titles);

}  // namespace gavamoe
