// What a Hugging Face model folder says about its tokenizer besides the vocabulary:
// tokenizer_config.json (bos/eos/pad/unk tokens, add_bos_token, chat_template),
// chat_template.jinja, config.json and generation_config.json (token ids).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gavamoe {

struct HfTokenizerConfig {
  // Token texts from tokenizer_config.json (a string or {"content": ...}).
  std::optional<std::string> bos_token, eos_token, pad_token;
  std::optional<bool> add_bos_token;
  // tokenizer_config.json's chat_template (a string, or the "default" entry of a list, else
  // the first), else chat_template.jinja; "" when neither.
  std::string chat_template;
  // config.json ids, and the end-of-turn ids of config.json / generation_config.json.
  std::optional<int> bos_token_id, pad_token_id;
  std::vector<int> eos_token_ids;
};

// The files of `dir` that exist; a file that is not valid JSON, or a key of the wrong type, is
// an Error naming the file and the key.
HfTokenizerConfig read_hf_tokenizer_config(const std::string& dir);

}  // namespace gavamoe
