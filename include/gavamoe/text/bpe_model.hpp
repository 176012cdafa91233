// BpeModel: the merge step of byte-level BPE, one pre-tokenized piece at a time
// (tokenizers `models/bpe`: `merge_word`, `word.rs merge_all`).
//
// A piece is split into characters, each looked up in the vocabulary (missing: byte fallback
// "<0xAB>" pieces when enabled, else the unk token, else dropped); then, repeatedly, the
// adjacent pair with the lowest merge rank (ties: leftmost) is merged, until no adjacent pair
// has a rank. With ignore_merges a piece that is itself a vocabulary entry is emitted as is.
// Results are cached per piece (thread-safe), which is what makes running text fast.
#pragma once

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gavamoe {

struct BpeModelOptions {
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  int unk_id = -1;  // -1: unknown characters are dropped
};

class BpeModel {
 public:
  // Merges name vocabulary tokens, and so must their concatenations; an Error names
  // `origin` and the merge otherwise.
  BpeModel(std::unordered_map<std::string, int> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeModelOptions options,
           const std::string& origin);

  // Appends the ids of `piece` (in the model's alphabet, e.g. byte-level characters).
  void encode_piece(const std::string& piece, std::vector<int>& ids) const;

  // -1 when absent.
  int token_to_id(const std::string& token) const;
  const std::unordered_map<std::string, int>& vocab() const { return vocab_; }

 private:
  struct Merge {
    int rank;
    int merged_id;
  };
  std::unordered_map<std::string, int> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  BpeModelOptions options_;
  std::vector<int> byte_fallback_ids_;  // "<0xAB>" ids by byte when byte_fallback, else empty

  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int>> cache_;

  void merge(const std::string& piece, std::vector<int>& ids) const;
  const Merge* find_merge(int left, int right) const;
};

}  // namespace gavamoe
