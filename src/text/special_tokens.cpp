// Token texts with a fixed meaning across model families (special_tokens.hpp).
#include "gavamoe/text/special_tokens.hpp"

namespace gavamoe {

const std::vector<const char*>& end_of_turn_pieces() {
  static const std::vector<const char*> pieces = {"<|eot_id|>",      "<|im_end|>",    "<|end|>",
                                                  "<end_of_turn>",   "<|endoftext|>", "<|eom_id|>",
                                                  "<|end_of_text|>", "<EOT>"};
  return pieces;
}

}  // namespace gavamoe
