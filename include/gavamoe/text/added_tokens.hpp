// Added tokens: special and user tokens that are cut out of the text before pre-tokenisation
// (tokenizers `added_vocabulary.rs`).
//
// Matching is leftmost-longest over all tokens of one matcher. `single_word` tokens match only
// with no word character (alphanumeric or '_') right before or after; `lstrip` / `rstrip`
// tokens take the whitespace on that side into their match.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace gavamoe {

struct AddedToken {
  std::string content;
  int id = -1;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false;
  bool normalized = false;  // matched in the normalised text (second pass)
};

// A run of text: an added token (id >= 0) or ordinary text (id -1).
struct TextSegment {
  std::string text;
  int id = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);
  bool empty() const { return tokens_.empty(); }
  // Appends the segments of `text` (the ordinary ones non-empty).
  void split(const std::string& text, std::vector<TextSegment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> children;  // sorted by byte
    int token = -1;                                       // index into tokens_
  };
  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;      // nodes_[0] is the root
  std::array<int, 256> root_{};  // the root's children by byte, -1 none

  int child(int node, unsigned char byte) const;

  // The token index and end of the longest token starting at `at`, or -1.
  int longest_at(const std::string& text, size_t at, size_t* end) const;
};

}  // namespace gavamoe
