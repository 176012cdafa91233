// SentencePieceTokenizer: loading, encoding and decoding SentencePiece models, and training the
// project's own.
//
// Trained models: BPE with byte fallback, identity normalisation and no whitespace folding
// (decode(encode(text)) == text), ids unk 0, bos 1, eos 2, pad 3, then the user-defined
// symbols. Training reads sentences from memory, keeps them in order (no sampling), runs on one
// thread, and the serialized model is written atomically: the same input gives the same bytes.
#include "gavamoe/text/sentencepiece_tokenizer.hpp"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <unordered_map>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/text/special_tokens.hpp"

namespace gavamoe {
namespace {

class VectorSentenceIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorSentenceIterator(const std::vector<std::string>& sentences)
      : sentences_(sentences) {}
  bool done() const override { return index_ >= sentences_.size(); }
  void Next() override { ++index_; }
  const std::string& value() const override { return sentences_[index_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& sentences_;
  size_t index_ = 0;
};

std::string join(const std::vector<std::string>& parts, char separator) {
  std::string joined;
  for (const std::string& part : parts)
    joined += (joined.empty() ? "" : std::string(1, separator)) + part;
  return joined;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path,
                                               SentencePieceSettings settings)
    : path_(model_path),
      settings_(std::move(settings)),
      processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const std::string bytes = read_file(model_path);
  const auto status = processor_->LoadFromSerializedProto(bytes);
  if (!status.ok()) throw file_error(model_path, "not a SentencePiece model: " + status.ToString());
  for (int id = 0; id < processor_->GetPieceSize(); ++id)
    if (processor_->IsControl(id) || processor_->IsUnknown(id))
      special_pieces_.emplace_back(processor_->IdToPiece(id), id);
  // Longest first: at one position the longest piece wins.
  std::stable_sort(special_pieces_.begin(), special_pieces_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int> SentencePieceTokenizer::encode_ordinary(const std::string& text) const {
  std::vector<int> ids;
  if (text.empty()) return ids;
  const auto status = processor_->Encode(text, &ids);
  if (!status.ok()) throw Error(path_ + ": cannot encode text: " + status.ToString());
  return ids;
}

std::vector<int> SentencePieceTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  size_t start = 0;
  while (start < text.size()) {
    size_t best_at = std::string::npos;
    const std::pair<std::string, int>* best = nullptr;
    for (const auto& special : special_pieces_) {
      if (special.first.empty()) continue;
      const size_t at = text.find(special.first, start);
      if (at < best_at) best_at = at, best = &special;  // ties keep the longer (earlier) piece
    }
    const std::vector<int> ordinary =
        encode_ordinary(text.substr(start, best ? best_at - start : std::string::npos));
    ids.insert(ids.end(), ordinary.begin(), ordinary.end());
    if (!best) break;
    ids.push_back(best->second);
    start = best_at + best->first.size();
  }
  return ids;
}

void SentencePieceTokenizer::check_id(int id) const {
  if (id < 0 || id >= vocab_size())
    throw Error(path_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(vocab_size()));
}

std::string SentencePieceTokenizer::decode(const std::vector<int>& ids, bool skip_special) const {
  for (int id : ids) check_id(id);
  std::string text;
  std::vector<int> run;  // ids decoded together, so that pieces join as SentencePiece joins them
  auto flush = [&] {
    if (run.empty()) return;
    std::string part;
    const auto status = processor_->Decode(run, &part);
    if (!status.ok()) throw Error(path_ + ": cannot decode ids: " + status.ToString());
    text += part;
    run.clear();
  };
  for (int id : ids) {
    if (!skip_special && processor_->IsControl(id)) {
      flush();
      text += processor_->IdToPiece(id);
    } else {
      run.push_back(id);
    }
  }
  flush();
  return text;
}

int SentencePieceTokenizer::piece_to_id(const std::string& piece) const {
  const int id = processor_->PieceToId(piece);
  // SentencePiece answers unk for unknown pieces; only the unk piece itself maps to it.
  return id == processor_->unk_id() && processor_->IdToPiece(id) != piece ? -1 : id;
}

std::string SentencePieceTokenizer::id_to_piece(int id) const {
  check_id(id);
  return processor_->IdToPiece(id);
}

int SentencePieceTokenizer::vocab_size() const { return processor_->GetPieceSize(); }
int SentencePieceTokenizer::bos_id() const { return processor_->bos_id(); }
int SentencePieceTokenizer::eos_id() const { return processor_->eos_id(); }
int SentencePieceTokenizer::pad_id() const { return processor_->pad_id(); }

std::vector<int> SentencePieceTokenizer::end_of_generation_ids() const {
  std::vector<int> ids;
  if (eos_id() >= 0) ids.push_back(eos_id());
  for (const char* piece : end_of_turn_pieces()) {
    const int id = piece_to_id(piece);
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

std::string SentencePieceTokenizer::serialized_model() const {
  return processor_->serialized_model_proto();
}

void train_tokenizer(const std::vector<std::string>& sentences,
                     const TokenizerTrainOptions& options, const std::string& out_model) {
  if (sentences.empty()) throw file_error(out_model, "no training text for the tokenizer");
  if (options.vocab_size < 8)
    throw Error("--vocab-size must be at least 8, got " + std::to_string(options.vocab_size));
  const std::unordered_map<std::string, std::string> arguments = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"byte_fallback", "true"},
      {"character_coverage", "0.9995"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"split_digits", "true"},
      {"user_defined_symbols", join(options.user_symbols, ',')},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "3"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"hard_vocab_limit", "false"},
      // SentencePiece 0.1.97's BPE merges differ with the thread count (seen on a 10k-sentence
      // corpus); one thread keeps the model the same on every machine and takes seconds.
      {"num_threads", "1"},
      {"minloglevel", "2"},
  };
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned int>(options.seed % 0xFFFFFFFFu));
  VectorSentenceIterator iterator(sentences);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(arguments, &iterator, &model);
  if (!status.ok()) throw file_error(out_model, "tokenizer training failed: " + status.ToString());
  write_file_atomic(out_model, model);
}

}  // namespace gavamoe
