// A pretrained chat base for tests that need no Python: a random tiny Llama saved as an HF
// folder with a byte-level BPE tokenizer.json carrying SmolLM2's three specials
// (<|endoftext|> <|im_start|> <|im_end|>: BOS <|im_start|>, EOS <|im_end|>, no BOS added) and
// its ChatML template.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/llama.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "text/tiny_bpe.hpp"

namespace gavamoe::test {

constexpr const char* kChatmlTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

// Writes the base into `dir` (created) and returns `dir`.
inline std::string write_tiny_chat_base(const std::string& dir, uint64_t seed = 11,
                                        int64_t max_positions = 512) {
  const auto tokenizer =
      tiny_bpe({"<|endoftext|>", "<|im_start|>", "<|im_end|>"}, kChatmlTemplate, {}, 1, 2);
  LlamaConfig config = LlamaConfig::from_json(nlohmann::json::parse(R"({
        "vocab_size": 400, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
        "rms_norm_eps": 1e-5, "tie_word_embeddings": true})"),
                                              "tiny chat base");
  config.vocab_size = tokenizer->vocab_size();
  config.max_position_embeddings = max_positions;
  config.bos_token_id = tokenizer->bos_id();
  config.eos_token_ids = {tokenizer->eos_id()};
  Llama model(config);
  model->init_weights(seed);
  save_hf_checkpoint(model, dir);
  save_hf_tokenizer(*tokenizer, dir);
  return dir;
}

}  // namespace gavamoe::test
