// Token texts with a fixed meaning across model families.
#pragma once

#include <vector>

namespace gavamoe {

// Pieces that end a generated turn when a vocabulary has them (llama.cpp's end-of-generation
// list): <|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>, <|endoftext|>, <|eom_id|>,
// <|end_of_text|>, <EOT>.
const std::vector<const char*>& end_of_turn_pieces();

}  // namespace gavamoe
