// BpeModel (bpe_model.hpp). The merge loop mirrors `tokenizers` word.rs: a min-heap of
// candidate merges ordered by (rank, position); an entry is stale, and skipped, when its left
// symbol is gone, has no right neighbour, or the pair now there merges into another token.
#include "gavamoe/text/bpe_model.hpp"

#include <cstdio>
#include <queue>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

// Pieces at least this long are not cached (tokenizers' MAX_LENGTH), nor once the cache is full.
constexpr size_t kMaxCachedPieceBytes = 256;
constexpr size_t kMaxCacheEntries = 1 << 18;

uint64_t pair_key(int left, int right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Symbol {
  int id;
  int prev, next;  // neighbours' positions, -1 none
  bool alive = true;
};

struct Candidate {
  int rank, pos, merged_id;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeModelOptions options, const std::string& origin)
    : vocab_(std::move(vocab)), options_(options) {
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const int left_id = token_to_id(left), right_id = token_to_id(right);
    const int merged_id = token_to_id(left + right);
    const char* missing = left_id < 0     ? "its left token"
                          : right_id < 0  ? "its right token"
                          : merged_id < 0 ? "the merged token"
                                          : nullptr;
    if (missing)
      throw file_error(origin, "merge " + std::to_string(rank) + " ('" + left + "' '" + right +
                                   "'): " + missing + " is not in the vocabulary");
    // A pair listed twice keeps its last rank, as tokenizers' map does.
    merges_[pair_key(left_id, right_id)] = Merge{static_cast<int>(rank), merged_id};
  }
  if (options_.byte_fallback) {
    byte_fallback_ids_.assign(256, -1);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      byte_fallback_ids_[b] = token_to_id(name);
    }
  }
}

int BpeModel::token_to_id(const std::string& token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const BpeModel::Merge* BpeModel::find_merge(int left, int right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::merge(const std::string& piece, std::vector<int>& ids) const {
  // 1. Characters to symbols (tokenizers `merge_word`, including where a pending unk lands).
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  auto add = [&](int id) {
    const int pos = static_cast<int>(symbols.size());
    symbols.push_back({id, pos - 1, -1});
    if (pos > 0) symbols[pos - 1].next = pos;
  };
  int pending_unk = -1;
  for (size_t at = 0; at < piece.size();) {
    size_t length = utf8::sequence_length(piece, at);
    if (!length) length = 1;  // a stray byte is its own "character"
    const int id = token_to_id(piece.substr(at, length));
    if (id >= 0) {
      if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
      add(id);
      at += length;
      continue;
    }
    bool all_bytes = options_.byte_fallback;
    for (size_t i = 0; all_bytes && i < length; ++i)
      all_bytes = byte_fallback_ids_[static_cast<unsigned char>(piece[at + i])] >= 0;
    if (all_bytes) {
      for (size_t i = 0; i < length; ++i)
        add(byte_fallback_ids_[static_cast<unsigned char>(piece[at + i])]);
    } else if (options_.unk_id >= 0) {
      if (pending_unk >= 0 && !options_.fuse_unk) add(pending_unk);
      pending_unk = options_.unk_id;
    }
    at += length;
  }
  if (pending_unk >= 0) add(pending_unk);

  // 2. Merge by rank.
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  for (size_t pos = 0; pos + 1 < symbols.size(); ++pos)
    if (const Merge* m = find_merge(symbols[pos].id, symbols[pos + 1].id))
      queue.push({m->rank, static_cast<int>(pos), m->merged_id});
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const Merge* now = find_merge(left.id, right.id);
    if (!now || now->merged_id != top.merged_id) continue;
    left.id = top.merged_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0)
      if (const Merge* m = find_merge(symbols[left.prev].id, left.id))
        queue.push({m->rank, left.prev, m->merged_id});
    if (left.next >= 0)
      if (const Merge* m = find_merge(left.id, symbols[left.next].id))
        queue.push({m->rank, top.pos, m->merged_id});
  }
  for (const Symbol& symbol : symbols)
    if (symbol.alive) ids.push_back(symbol.id);
}

void BpeModel::encode_piece(const std::string& piece, std::vector<int>& ids) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    const int id = token_to_id(piece);
    if (id >= 0) {
      ids.push_back(id);
      return;
    }
  }
  const bool cacheable = piece.size() < kMaxCachedPieceBytes;
  if (cacheable) {
    std::shared_lock<std::shared_mutex> lock(cache_mutex_);
    const auto it = cache_.find(piece);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = ids.size();
  merge(piece, ids);
  if (cacheable) {
    std::unique_lock<std::shared_mutex> lock(cache_mutex_);
    if (cache_.size() < kMaxCacheEntries)
      cache_.emplace(piece, std::vector<int>(ids.begin() + first, ids.end()));
  }
}

}  // namespace gavamoe
