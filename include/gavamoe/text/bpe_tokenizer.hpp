// Byte-level BPE (GPT-2 family): a vocabulary in the GPT-2 byte-char alphabet, ranked merges,
// added/special tokens split out first, a regex pre-tokenizer chosen by the model family, and
// ByteLevel decoding. Built from a Hugging Face tokenizer.json or from a GGUF file's
// `tokenizer.ggml.*` metadata (through BpeVocabulary).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "gavamoe/text/hf_tokenizer_config.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

// A byte-level BPE vocabulary as GGUF stores it (`tokenizer.ggml.model` = "gpt2").
struct BpeVocabulary {
  std::vector<std::string> tokens;  // id -> token text, byte-char alphabet
  // id -> GGUF token type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte);
  // empty: all normal. Types 3 and 4 are matched in raw text before pre-tokenisation.
  std::vector<int> token_types;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  // GGUF `tokenizer.ggml.pre`: "smollm", "llama-bpe" (also "llama3", "llama-v3", "falcon3",
  // "pixtral"), "qwen2", "gpt-2", "tekken", "default"; an unknown name is an error naming it.
  std::string pre_tokenizer = "default";
  int bos_id = -1, eos_id = -1, pad_id = -1, unk_id = -1;
  std::vector<int> end_of_turn_ids;  // eot/eom ids from the metadata, if any
  bool add_bos = false;              // tokenizer.ggml.add_bos_token (else the pre type's default)
  bool add_bos_given = false;        // whether add_bos came from the metadata
  std::string chat_template;
};

// `source` names the file the vocabulary came from, for messages. The tokenizer is the
// tokenizer.json that the pre type stands for: Sequence[Split(regex, Isolated)...,
// ByteLevel(use_regex=false)], NFC for qwen2, ignore_merges for llama-bpe and tekken, unknown
// bytes dropped (no unk token, as llama.cpp and transformers' GGUF import do), control and
// user-defined tokens as added tokens (control ones special). BOS is added as add_bos says when
// add_bos_given, else by the pre type (llama-bpe, tekken: yes).
std::unique_ptr<Tokenizer> make_bpe_tokenizer(const BpeVocabulary& vocabulary,
                                              const std::string& source);

// A Hugging Face tokenizer.json (already parsed: `document`) with the settings of its folder.
// BOS/EOS/PAD come from tokenizer_config.json's tokens, else config.json's ids, else (BOS) the
// post-processor's leading special token; add_bos from add_bos_token, else the post-processor
// (TemplateProcessing starting with a special token). Errors name `source`.
std::unique_ptr<Tokenizer> make_bpe_tokenizer(const nlohmann::json& document,
                                              const HfTokenizerConfig& config,
                                              const std::string& source);

// Writes `tokenizer` as a Hugging Face folder's tokenizer files into `dir`: tokenizer.json
// (+ tokenizer_config.json with BOS/EOS, add_bos_token and chat_template) for BPE,
// tokenizer.model (+ tokenizer_config.json) for SentencePiece. load_tokenizer(dir) gives back
// a tokenizer with the same ids on every text.
void save_hf_tokenizer(const Tokenizer& tokenizer, const std::string& dir);

}  // namespace gavamoe
