// General instructions: a user-supplied chat dataset mixed into the alignment samples, as the
// original mixes ShareGPT (so that the surrogate keeps its general chat ability; ShareGPT itself
// is not available offline and does not ship).
//
// File: a JSON array of conversations, each either ShareGPT's {"conversations": [{"from":
// "human"|"gpt"|..., "value": TEXT}, ...]} or {"messages": [{"role": "user"|"assistant"|...,
// "content": TEXT}, ...]}. The original's filter (gen_sharegpt): a leading turn that is not the
// user's is dropped; a conversation is kept when it then has at least 2 turns, strictly
// alternating user / assistant, none empty; a trailing user turn is dropped. (Its token limit on
// the first user turn is applied at training time, where a sample whose first turn does not fit
// align.max_length is skipped.)
// Mixing: round(ratio x training samples) + round(ratio x validation samples) of the kept
// conversations (fewer when the file runs out) are drawn distinct in a seeded order; the first
// go to every variant's training file, the rest to the validation files (the original: 10,000
// and 1,000), type "sharegpt".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gavamoe/align/alignment_data.hpp"

namespace gavamoe {

struct GeneralInstructions {
  std::vector<std::vector<ChatMessage>> conversations;  // user, assistant, user, ...
  int64_t read = 0;                                     // conversations in the file
};

// Errors name the file and the conversation.
GeneralInstructions read_general_instructions(const std::string& path);

// Appends the mixed conversations to `data` (train and valid); returns {train, valid} counts.
std::pair<int64_t, int64_t> mix_general_instructions(AlignData& data,
                                                     const GeneralInstructions& general,
                                                     double ratio, uint64_t seed);

}  // namespace gavamoe
