// SentencePieceTokenizer: a SentencePiece model (a Llama `tokenizer.model` or one trained by the
// project) behind the Tokenizer interface, and training the project's own models.
//
// The project's own models are BPE with byte fallback and reserve the explainer's special
// tokens as user-defined symbols, so each encodes to exactly one id. encode() also cuts the
// text of the control pieces ("<s>", "</s>", "<pad>") and of "<unk>" out of the text first and
// gives their ids, as Hugging Face's Llama tokenizers do, so a rendered chat template that
// writes "<s>" gets the BOS id; SentencePiece alone would spell them out piece by piece.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gavamoe/text/tokenizer.hpp"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace gavamoe {

// Settings a model folder may give next to tokenizer.model (tokenizer_config.json).
struct SentencePieceSettings {
  bool add_bos = true;  // Llama default
  std::string chat_template;
};

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& model_path,
                                  SentencePieceSettings settings = {});
  ~SentencePieceTokenizer() override;
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::vector<int> encode(const std::string& text) const override;
  // Control pieces are dropped when `skip_special`, else written as their piece text.
  std::string decode(const std::vector<int>& ids, bool skip_special = false) const override;
  int piece_to_id(const std::string& piece) const override;
  std::string id_to_piece(int id) const override;
  int vocab_size() const override;
  int bos_id() const override;
  int eos_id() const override;
  int pad_id() const override;
  bool adds_bos() const override { return settings_.add_bos && bos_id() >= 0; }
  std::vector<int> end_of_generation_ids() const override;
  const std::string& chat_template() const override { return settings_.chat_template; }
  std::string kind() const override { return "sentencepiece"; }
  const std::string& source() const override { return path_; }

  // The serialized model (what tokenizer.model holds).
  std::string serialized_model() const;

 private:
  std::string path_;
  SentencePieceSettings settings_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::vector<std::pair<std::string, int>>
      special_pieces_;  // control and unk pieces, longest first

  std::vector<int> encode_ordinary(const std::string& text) const;
  void check_id(int id) const;
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
