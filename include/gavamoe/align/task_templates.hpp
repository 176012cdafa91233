// The question templates of RecExplainer's alignment tasks, verbatim, by task family.
//
// Families and counts: test_iid2title 8 (evaluation only, disjoint from iid2title), iid2title
// 11, iid2feature 10, iid2description 10, iid2brand 10, iid2sim 9, feature2iid 10,
// description2iid 10, uid2hist 11, uid2next 13, uidiid2rank 13, uidiid2binary 13. The original's
// uid2summary (answers written by GPT-4) is not offered: no such answers exist offline. A
// template is the USER side with slots "{0}" (the history or the item) and "{1}" (the second
// item slot of the two-slot tasks); the ASSISTANT side is always the answer itself.
#pragma once

#include <string>
#include <vector>

namespace gavamoe {

// The templates of `family`; an unknown family is a gavamoe::Error.
const std::vector<std::string>& task_templates(const std::string& family);
std::vector<std::string> task_template_families();

// `pattern` with "{k}" replaced by slots[k] (str.format of the original for these patterns).
std::string fill_template(const std::string& pattern, const std::vector<std::string>& slots);

}  // namespace gavamoe
