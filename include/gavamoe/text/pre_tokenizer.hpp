// The normaliser and pre-tokenizer of a byte-level BPE tokenizer, built from tokenizer.json's
// "normalizer" and "pre_tokenizer" objects (Hugging Face `tokenizers` semantics).
//
// Normalizers: null, NFC, Sequence of those. Pre-tokenizers: Split (Regex or String pattern,
// behaviours Removed / Isolated / MergedWithPrevious / MergedWithNext / Contiguous, invert),
// ByteLevel (add_prefix_space, use_regex = GPT-2's pattern; maps every byte to its byte-level
// character), Digits (individual_digits), Sequence. Anything else is an Error naming `origin`
// and the type. Each step re-splits the pieces of the previous one; empty pieces are dropped.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gavamoe {

class Regex;

class TextNormalizer {
 public:
  static TextNormalizer from_json(const nlohmann::json& normalizer, const std::string& origin);
  // NFC when configured (ill-formed UTF-8 bytes are kept as they are); else the text itself.
  std::string normalize(const std::string& text) const;
  bool identity() const { return !nfc_; }

 private:
  bool nfc_ = false;
};

// Unicode NFC of the well-formed parts of `text` (ICU).
std::string nfc(const std::string& text);

class PreTokenizer {
 public:
  static PreTokenizer from_json(const nlohmann::json& pre_tokenizer, const std::string& origin);
  // Appends the pieces of `segment` (text between added tokens, after normalisation).
  void split(const std::string& segment, std::vector<std::string>& pieces) const;

  struct Step;

 private:
  std::vector<std::shared_ptr<const Step>> steps_;
  static void add_steps(const nlohmann::json& j, const std::string& origin,
                        std::vector<std::shared_ptr<const Step>>& steps);
};

// The regex behind ByteLevel(use_regex=true): GPT-2's pre-tokenizer.
extern const char* const kGpt2Pattern;

}  // namespace gavamoe
