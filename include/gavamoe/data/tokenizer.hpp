// Tokenizer: a SentencePiece model (a Llama `tokenizer.model` or one trained by the project).
//
// The project's own models are BPE with byte fallback and reserve the explainer's special
// tokens as user-defined symbols, so each encodes to exactly one id.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace gavamoe {

// Special pieces of the explainer's prompt (user and item placeholders, separator).
constexpr const char* kUserToken = "<user>";
constexpr const char* kItemToken = "<item>";
constexpr const char* kSeparatorToken = "<sep>";

class Tokenizer {
 public:
  explicit Tokenizer(const std::string& model_path);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text to ids, without BOS/EOS (callers add them as the model config says).
  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;
  // Id of a piece, or -1 when the vocabulary has no such piece.
  int piece_to_id(const std::string& piece) const;
  std::string id_to_piece(int id) const;
  int vocab_size() const;
  int bos_id() const;  // -1 when the model has none
  int eos_id() const;
  int pad_id() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

struct TokenizerTrainOptions {
  int vocab_size = 2000;
  uint64_t seed = 1;
  std::vector<std::string> user_symbols = {kUserToken, kItemToken, kSeparatorToken};
};

// Trains a BPE model with byte fallback on `sentences`; writes `out_model` atomically.
void train_tokenizer(const std::vector<std::string>& sentences,
                     const TokenizerTrainOptions& options, const std::string& out_model);

}  // namespace gavamoe
