// USR, feature detection, FMR, FCR, DIV and Distinct-n in linear time; see explainability.hpp.
#include "gavamoe/eval/explainability.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace gavamoe::eval {
namespace {

uint64_t mix(uint64_t h) {  // splitmix64 finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

struct SentenceHash {
  size_t operator()(const Sentence* s) const {
    uint64_t h = s->size();
    for (uint32_t id : *s) h = mix(h ^ id);
    return static_cast<size_t>(h);
  }
};
struct SentenceEqual {
  bool operator()(const Sentence* a, const Sentence* b) const { return *a == *b; }
};

}  // namespace

double unique_sentence_ratio(const std::vector<Sentence>& generated) {
  std::unordered_set<const Sentence*, SentenceHash, SentenceEqual> unique;
  unique.reserve(generated.size());
  for (const Sentence& s : generated) unique.insert(&s);
  return static_cast<double>(unique.size()) / static_cast<double>(generated.size());
}

std::vector<std::vector<uint32_t>> detect_features(const std::vector<Sentence>& generated,
                                                   const std::vector<char>& is_feature) {
  std::vector<std::vector<uint32_t>> found(generated.size());
  for (size_t i = 0; i < generated.size(); ++i) {
    for (uint32_t id : generated[i]) {
      if (id < is_feature.size() && is_feature[id]) found[i].push_back(id);
    }
    std::sort(found[i].begin(), found[i].end());
    found[i].erase(std::unique(found[i].begin(), found[i].end()), found[i].end());
  }
  return found;
}

double feature_matching_ratio(const std::vector<std::vector<uint32_t>>& found,
                              const std::vector<uint32_t>& record_feature) {
  int64_t matched = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    if (std::binary_search(found[i].begin(), found[i].end(), record_feature[i])) ++matched;
  }
  return static_cast<double>(matched) / static_cast<double>(found.size());
}

double feature_coverage_ratio(const std::vector<std::vector<uint32_t>>& found,
                              size_t feature_set_size) {
  std::unordered_set<uint32_t> covered;
  for (const auto& features : found) covered.insert(features.begin(), features.end());
  return static_cast<double>(covered.size()) / static_cast<double>(feature_set_size);
}

double feature_diversity(const std::vector<std::vector<uint32_t>>& found) {
  const int64_t n = static_cast<int64_t>(found.size());
  if (n < 2) return 0.0;
  std::unordered_map<uint32_t, int64_t> holders;  // feature id -> generations holding it
  for (const auto& features : found) {
    for (uint32_t id : features) ++holders[id];
  }
  int64_t shared = 0;  // sum over pairs of |F_i ∩ F_j|
  for (const auto& [id, k] : holders) shared += k * (k - 1) / 2;
  return static_cast<double>(shared) / (static_cast<double>(n * (n - 1)) / 2.0);
}

double distinct_n(const std::vector<Sentence>& generated, int n) {
  // An n-gram is a pointer to its first id; hash and equality read n ids from there.
  const auto hash = [n](const uint32_t* gram) {
    uint64_t h = 0;
    for (int k = 0; k < n; ++k) h = mix(h ^ gram[k]);
    return static_cast<size_t>(h);
  };
  const auto equal = [n](const uint32_t* a, const uint32_t* b) { return std::equal(a, a + n, b); };
  std::unordered_set<const uint32_t*, decltype(hash), decltype(equal)> distinct(1024, hash, equal);
  int64_t total = 0;
  for (const Sentence& s : generated) {
    for (size_t i = 0; i + n <= s.size(); ++i) {
      distinct.insert(s.data() + i);
      ++total;
    }
  }
  return total == 0 ? 0.0 : static_cast<double>(distinct.size()) / static_cast<double>(total);
}

}  // namespace gavamoe::eval
