// PEPLER tokenisation: hand-made cases here, Python's own output in test_golden.cpp.
#include <gtest/gtest.h>

#include "gavamoe/eval/corpus.hpp"
#include "gavamoe/eval/tokenize.hpp"

namespace gavamoe::eval {
namespace {

using Tokens = std::vector<std::string>;

TEST(Tokenize, PunctuationRunsCollapseToOneToken) {
  EXPECT_EQ(tokenize("great!!! really??"), (Tokens{"great", "!", "really", "?"}));
  EXPECT_EQ(tokenize("end..."), (Tokens{"end", "."}));
  // ':' becomes ',' and ';' becomes '.', but runs of different characters stay apart.
  EXPECT_EQ(tokenize("a:: b;; c,:d"), (Tokens{"a", ",", "b", ".", "c", ",", ",", "d"}));
}

TEST(Tokenize, ClitcsAndBracketsAreSplitOff) {
  EXPECT_EQ(tokenize("it's (very) nice, isn't it"),
            (Tokens{"it", "'s", "(", "very", ")", "nice", ",", "is", "n't", "it"}));
  EXPECT_EQ(tokenize("we'll they're i'd you've i'm"),
            (Tokens{"we", "'ll", "they", "'re", "i", "'d", "you", "'ve", "i", "'m"}));
  EXPECT_EQ(tokenize("o'clock"), (Tokens{"o'clock"}));
}

TEST(Tokenize, NoLowercasingAndPythonWhitespace) {
  EXPECT_EQ(tokenize("Great Hotel"), (Tokens{"Great", "Hotel"}));
  // U+00A0, U+3000 and U+2009 separate words; U+200B (zero width space) does not.
  EXPECT_EQ(tokenize("a\u00a0b\u3000c\u2009d\u200be"), (Tokens{"a", "b", "c", "d\u200be"}));
  EXPECT_EQ(tokenize("caf\u00e9 \u4e2d\u6587"), (Tokens{"caf\u00e9", "\u4e2d\u6587"}));
}

TEST(Tokenize, EmptyAndBlankTextHaveNoTokens) {
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_TRUE(tokenize(" \t\n").empty());
}

TEST(Vocabulary, EmptyWordIsIdZeroAndIdsAreStable) {
  Vocabulary vocab;
  EXPECT_EQ(vocab.find(""), kEmptyWord);
  const Sentence s = encode("the room , the view", vocab);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], s[3]);
  EXPECT_NE(s[0], kEmptyWord);
  EXPECT_EQ(vocab.token(s[1]), "room");
  EXPECT_EQ(vocab.find("view"), s[4]);
  EXPECT_EQ(vocab.find("absent"), -1);
}

}  // namespace
}  // namespace gavamoe::eval
