// SentencePieceTokenizer: training is deterministic, text round-trips (unicode through byte
// fallback), the special tokens are single ids, and the reserved ids sit where the explainer
// expects them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

// Review-like sentences, the same every run (the text library cannot use the data library's
// synthetic datasets).
std::vector<std::string> corpus() {
  const std::vector<std::string> features = {"sound quality", "tone",    "neck", "strings",
                                             "price",         "pickups", "case", "tuning pegs"};
  const std::vector<std::string> opinions = {"warm",  "really clear", "smooth", "cheap",
                                             "great", "noisy",        "solid",  "easy to use"};
  std::vector<std::string> sentences;
  for (int i = 0; i < 1500; ++i)
    sentences.push_back("the " + features[i % 8] + " is " + opinions[(i / 8) % 8] + " and the " +
                        features[(i / 64) % 8] + " feels " + opinions[(i * 7) % 8] + " " +
                        std::to_string(i));
  sentences.push_back(
      "The user has a positive experience with the item, please provide an "
      "explanation for recommending <item> to <user>. <sep>");
  sentences.push_back("café crème, naïve façade");
  return sentences;
}

std::string train(const std::string& dir, const std::string& name, int vocab_size = 400) {
  TokenizerTrainOptions options;
  options.vocab_size = vocab_size;
  options.seed = 3;
  const std::string path = dir + "/" + name;
  train_tokenizer(corpus(), options, path);
  return path;
}

TEST(SentencePieceTokenizer, TrainingIsDeterministic) {
  const std::string dir = test::scratch_dir();
  const std::string a = test::read_text(train(dir, "a.model"));
  const std::string b = test::read_text(train(dir, "b.model"));
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a, b);
}

TEST(SentencePieceTokenizer, RoundTripsTextAndKeepsSpecialIds) {
  const std::string dir = test::scratch_dir();
  const SentencePieceTokenizer tokenizer(train(dir, "tok.model"));
  EXPECT_EQ(tokenizer.vocab_size(), 400);
  EXPECT_EQ(tokenizer.id_to_piece(0), "<unk>");
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.eos_id(), 2);
  EXPECT_EQ(tokenizer.pad_id(), 3);

  for (const std::string text : {"the tone is really warm", "Unseen WORDS 12345 and  two  spaces",
                                 "gr\u00fc\u00dfe \u65e5\u672c\u8a9e \U0001F3B8 na\u00efve",
                                 "recommend <item> to <user> <sep> ok"}) {
    const std::vector<int> ids = tokenizer.encode(text);
    EXPECT_EQ(tokenizer.decode(ids), text);
    for (int id : ids) EXPECT_NE(id, 0) << "unk in: " << text;  // byte fallback covers all
  }

  for (const char* special : {kUserToken, kItemToken, kSeparatorToken}) {
    const int id = tokenizer.piece_to_id(special);
    ASSERT_GE(id, 4) << special;
    std::vector<int> ids = tokenizer.encode(special);
    // A leading word-boundary piece may precede it; the symbol itself is one id.
    if (ids.size() == 2 && tokenizer.id_to_piece(ids[0]) == "\u2581") ids.erase(ids.begin());
    EXPECT_EQ(ids, std::vector<int>{id}) << special;
    const std::vector<int> in_text = tokenizer.encode(std::string("to ") + special + " now");
    EXPECT_EQ(std::count(in_text.begin(), in_text.end(), id), 1) << special;
  }
  EXPECT_EQ(tokenizer.piece_to_id("no-such-piece-here"), -1);
  EXPECT_THROW(tokenizer.decode({tokenizer.vocab_size()}), Error);
}

TEST(SentencePieceTokenizer, BadInputFailsWithoutOutput) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/junk.model", "not a model");
  EXPECT_THROW(SentencePieceTokenizer(dir + "/junk.model"), Error);
  EXPECT_THROW(SentencePieceTokenizer(dir + "/missing.model"), Error);
  EXPECT_THROW(train_tokenizer({}, {}, dir + "/empty.model"), Error);
  EXPECT_FALSE(std::filesystem::exists(dir + "/empty.model"));
}

}  // namespace
}  // namespace gavamoe
