// Tokenizer: the one interface every model's vocabulary is used through.
//
// Two kinds implement it: SentencePiece (`tokenizer.model`: Llama-2 and the project's own
// from-scratch models) and byte-level BPE (Hugging Face `tokenizer.json`, or the same vocabulary
// built from GGUF metadata: Llama-3, SmolLM2, Qwen2, GPT-2, Mistral-Nemo). Ids are `int`;
// encode() never adds BOS/EOS (callers add them as adds_bos() says), and finds the added or
// special tokens written in the text ("<|im_start|>", "<user>") before anything else.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace gavamoe {

// Special pieces of the explainer's prompt (user and item placeholders, separator).
constexpr const char* kUserToken = "<user>";
constexpr const char* kItemToken = "<item>";
constexpr const char* kSeparatorToken = "<sep>";

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text to ids, without BOS/EOS.
  virtual std::vector<int> encode(const std::string& text) const = 0;
  // Ids to text; special tokens are written out unless `skip_special`.
  virtual std::string decode(const std::vector<int>& ids, bool skip_special = false) const = 0;
  // Id of a piece (vocabulary or added token), or -1 when there is no such piece.
  virtual int piece_to_id(const std::string& piece) const = 0;
  virtual std::string id_to_piece(int id) const = 0;
  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;  // -1 when the model has none
  virtual int eos_id() const = 0;
  virtual int pad_id() const = 0;
  // Whether a plain (non-chat) prompt starts with BOS (tokenizer_config's add_bos_token, the
  // post-processor, or GGUF's add_bos_token).
  virtual bool adds_bos() const = 0;
  // Ids that end a generated turn: EOS plus the model's end-of-turn tokens (<|im_end|>,
  // <|eot_id|>, <|end|>, ...) that are in the vocabulary.
  virtual std::vector<int> end_of_generation_ids() const = 0;
  // The model's own chat template source (Jinja text), or "" when it ships none.
  virtual const std::string& chat_template() const = 0;
  // "sentencepiece" or "bpe".
  virtual std::string kind() const = 0;
  // Where it was read from (a file or folder), for messages.
  virtual const std::string& source() const = 0;
};

// A tokenizer file (`tokenizer.model` or `tokenizer.json`) or a model folder holding one
// (tokenizer.json preferred); the folder's tokenizer_config.json / config.json /
// chat_template.jinja supply BOS/EOS, add_bos_token and the chat template. A GGUF file's
// vocabulary is loaded through the model library (it reads the GGUF metadata).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace gavamoe
