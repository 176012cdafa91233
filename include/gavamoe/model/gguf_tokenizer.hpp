// The tokenizer of a GGUF file, from its tokenizer.ggml.* metadata: model "gpt2" (byte-level
// BPE: tokens, token_type, merges "a b", pre, bos/eos/unk/pad/eot/eom ids, add_bos_token) and
// tokenizer.chat_template. SentencePiece vocabularies (model "llama") and others are an error
// naming the file and the model.
#pragma once

#include <memory>

#include "gavamoe/model/gguf.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

BpeVocabulary gguf_bpe_vocabulary(const GgufFile& file);
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& file);

}  // namespace gavamoe
