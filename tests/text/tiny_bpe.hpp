// A small byte-level BPE tokenizer for tests that need no Python: the 256 byte characters,
// the given special tokens (control tokens, split out of text), optional merges, GPT-2
// pre-tokenization, and a chat template source.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/byte_level.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe::test {

inline std::unique_ptr<Tokenizer> tiny_bpe(
    const std::vector<std::string>& specials, const std::string& chat_template = "",
    const std::vector<std::pair<std::string, std::string>>& merges = {}, int bos = -1, int eos = -1,
    bool add_bos = false) {
  BpeVocabulary vocabulary;
  for (int b = 0; b < 256; ++b) {
    std::string token;
    utf8::append(token, byte_level::char_of(static_cast<unsigned char>(b)));
    vocabulary.tokens.push_back(token);
    vocabulary.token_types.push_back(1);
  }
  for (const auto& [left, right] : merges) {
    vocabulary.tokens.push_back(left + right);
    vocabulary.token_types.push_back(1);
  }
  vocabulary.merges = merges;
  for (const std::string& special : specials) {
    vocabulary.tokens.push_back(special);
    vocabulary.token_types.push_back(3);
  }
  const int first_special = 256 + static_cast<int>(merges.size());
  vocabulary.bos_id = bos >= 0 ? first_special + bos : -1;
  vocabulary.eos_id = eos >= 0 ? first_special + eos : -1;
  vocabulary.add_bos = add_bos;
  vocabulary.add_bos_given = true;
  vocabulary.pre_tokenizer = "gpt-2";
  vocabulary.chat_template = chat_template;
  return make_bpe_tokenizer(vocabulary, "tiny.gguf");
}

}  // namespace gavamoe::test
