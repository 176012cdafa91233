// Explanation tokens exactly as PEPLER's evaluation makes them.
//
// PEPLER's utils.postprocessing applies, in order: 's 'm 've n't 're 'd 'll each get a space
// before them; ( and ) get spaces around them; a run of , or : becomes " , "; a run of ; or .
// becomes " . "; a run of ! becomes " ! "; a run of ? becomes " ? "; then Python's str.split()
// cuts on whitespace (Unicode whitespace included: U+00A0, U+2000..U+200A, U+3000, ...).
// No lowercasing. Each replacement is surrounded by spaces, so one pass over the UTF-8 bytes
// gives the same tokens: every pattern is ASCII and UTF-8 never hides ASCII bytes inside a
// multi-byte character.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gavamoe::eval {

// Appends the tokens of `text` to `tokens`. The views point into `text` or into static storage
// (the punctuation tokens), so they live as long as `text` does.
void tokenize(std::string_view text, std::vector<std::string_view>& tokens);

// Convenience copy of the above.
std::vector<std::string> tokenize(std::string_view text);

}  // namespace gavamoe::eval
