// Explanation prompt: the paper's sentence, placeholders as single ids (reserved pieces of the
// project's tokenizer, or virtual ids past the vocabulary), their spaces for SentencePiece and
// byte-level BPE, templates, and the training
// example's truncation (prompt never cut, explanation cut, EOS kept, too-long prompt skipped).
#include <gtest/gtest.h>

#include <algorithm>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/data/synth.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "test_util.hpp"
#include "text/tiny_bpe.hpp"

namespace gavamoe {
namespace {

Record sample_record(double rating = 4) {
  Record record;
  record.user = "u1";
  record.item = "i1";
  record.rating = rating;
  record.feature = "sound quality";
  record.explanation = "the sound quality is warm and the tone is really clear";
  record.has_text = true;
  return record;
}

// A tokenizer trained on synthetic explanations; with or without the reserved pieces.
std::string train(const std::string& dir, bool reserve_placeholders) {
  SynthOptions synth;
  synth.records = 800;
  std::vector<std::string> sentences;
  for (const Record& record : make_synthetic_dataset(synth).records)
    sentences.push_back(record.explanation);
  sentences.push_back(explanation_prompt_text(sample_record()));
  TokenizerTrainOptions options;
  options.vocab_size = 300;
  if (!reserve_placeholders) options.user_symbols.clear();
  const std::string path = dir + (reserve_placeholders ? "/reserved.model" : "/plain.model");
  train_tokenizer(sentences, options, path);
  return path;
}

int64_t count(const std::vector<int>& ids, int id) {
  return std::count(ids.begin(), ids.end(), id);
}

TEST(ExplanationPrompt, TextIsThePapersSentence) {
  EXPECT_EQ(explanation_prompt_text(sample_record(3)),
            "The user has a positive experience with the item, the item has sound quality "
            "features, please provide an explanation for recommending <item> to <user>.");
  EXPECT_EQ(explanation_prompt_text(sample_record(2)),
            "The user has a negative experience with the item, the item has sound quality "
            "features, please provide an explanation for recommending <item> to <user>.");
}

TEST(ExplanationPrompt, ReservedPiecesAreSingleIds) {
  const std::string dir = test::scratch_dir();
  const SentencePieceTokenizer tokenizer(train(dir, true));
  const PlaceholderIds placeholders = placeholder_ids(tokenizer);
  EXPECT_EQ(placeholders.user, tokenizer.piece_to_id("<user>"));
  EXPECT_EQ(placeholders.item, tokenizer.piece_to_id("<item>"));
  EXPECT_LT(placeholders.user, tokenizer.vocab_size());

  const std::vector<int> ids = encode_prompt(tokenizer, sample_record(), {});
  EXPECT_EQ(ids.front(), 1);  // BOS
  EXPECT_EQ(count(ids, placeholders.user), 1);
  EXPECT_EQ(count(ids, placeholders.item), 1);
  // The words around the placeholders, each encoded on its own.
  std::vector<int> expected = {1};
  for (const std::string piece : {"The user has a positive experience with the item, the item "
                                  "has sound quality features, please provide an explanation "
                                  "for recommending",
                                  "<item>", "to", "<user>", "."}) {
    if (piece == "<item>" || piece == "<user>") {
      expected.push_back(tokenizer.piece_to_id(piece));
      continue;
    }
    const std::vector<int> encoded = tokenizer.encode(piece);
    expected.insert(expected.end(), encoded.begin(), encoded.end());
  }
  EXPECT_EQ(ids, expected);
}

TEST(ExplanationPrompt, VirtualIdsWithoutReservedPieces) {
  const std::string dir = test::scratch_dir();
  const SentencePieceTokenizer tokenizer(train(dir, false));
  ASSERT_EQ(tokenizer.piece_to_id("<user>"), -1);
  const PlaceholderIds placeholders = placeholder_ids(tokenizer);
  EXPECT_EQ(placeholders.user, tokenizer.vocab_size());
  EXPECT_EQ(placeholders.item, tokenizer.vocab_size() + 1);

  PromptOptions options;
  options.add_bos = false;
  const std::vector<int> ids = encode_prompt(tokenizer, sample_record(), options);
  EXPECT_NE(ids.front(), 1);
  EXPECT_EQ(count(ids, placeholders.user), 1);
  EXPECT_EQ(count(ids, placeholders.item), 1);
  // Everything else is ordinary text: the ids in front of the item decode to the sentence.
  const auto item_at = std::find(ids.begin(), ids.end(), placeholders.item);
  EXPECT_EQ(tokenizer.decode(std::vector<int>(ids.begin(), item_at)),
            "The user has a positive experience with the item, the item has sound quality "
            "features, please provide an explanation for recommending");
  const auto user_at = std::find(ids.begin(), ids.end(), placeholders.user);
  EXPECT_EQ(tokenizer.decode(std::vector<int>(item_at + 1, user_at)), "to");
  for (int id : ids)
    if (id != placeholders.user && id != placeholders.item) {
      EXPECT_LT(id, tokenizer.vocab_size());
    }
}

TEST(ExplanationPrompt, TemplateWrapsThePrompt) {
  const std::string dir = test::scratch_dir();
  const SentencePieceTokenizer tokenizer(train(dir, false));
  PromptOptions options;
  options.template_name = "llama-2";
  const std::vector<int> ids = encode_prompt(tokenizer, sample_record(), options);
  const PlaceholderIds placeholders = placeholder_ids(tokenizer);
  const auto item_at = std::find(ids.begin(), ids.end(), placeholders.item);
  const auto user_at = std::find(ids.begin(), ids.end(), placeholders.user);
  const std::string head = tokenizer.decode(std::vector<int>(ids.begin() + 1, item_at));
  EXPECT_EQ(head.rfind("[INST] The user has a positive", 0), 0u) << head;
  EXPECT_EQ(tokenizer.decode(std::vector<int>(user_at + 1, ids.end())), ". [/INST]");
  options.template_name = "chat";
  EXPECT_THROW(encode_prompt(tokenizer, sample_record(), options), Error);
}

// Byte-level BPE has no dummy prefix: " to" is the one token "\u0120to", and the space before
// a placeholder goes with the word the placeholder stands for. The ids are those of the same
// sentence with each placeholder written as a word (" Zed"), the placeholder in its place.
TEST(ExplanationPrompt, ByteLevelBpeKeepsTheSpaceAfterAPlaceholder) {
  const std::string space = "\u0120";
  const auto tokenizer = test::tiny_bpe(
      {"<s>", "</s>"}, "",
      {{space, "t"}, {space + "t", "o"}, {space, "Z"}, {space + "Z", "ed"}, {"e", "d"}}, 0, 1);
  const PlaceholderIds placeholders = placeholder_ids(*tokenizer);
  PromptOptions options;
  options.add_bos = false;
  const std::vector<int> ids = encode_prompt(*tokenizer, sample_record(), options);
  const auto item_at = std::find(ids.begin(), ids.end(), placeholders.item);
  const auto user_at = std::find(ids.begin(), ids.end(), placeholders.user);
  ASSERT_NE(item_at, ids.end());
  ASSERT_NE(user_at, ids.end());
  EXPECT_EQ(std::vector<int>(item_at + 1, user_at),
            std::vector<int>{tokenizer->piece_to_id(space + "to")});
  EXPECT_EQ(tokenizer->decode(std::vector<int>(ids.begin(), item_at)),
            "The user has a positive experience with the item, the item has sound quality "
            "features, please provide an explanation for recommending");

  std::string text = explanation_prompt_text(sample_record());
  for (const std::string placeholder : {"<item>", "<user>"})
    text.replace(text.find(" " + placeholder), placeholder.size() + 1, " Zed");
  const std::vector<int> zed = tokenizer->encode(" Zed");
  ASSERT_EQ(zed.size(), 1u);
  std::vector<int> replaced = ids;
  std::replace(replaced.begin(), replaced.end(), placeholders.item, zed[0]);
  std::replace(replaced.begin(), replaced.end(), placeholders.user, zed[0]);
  EXPECT_EQ(replaced, tokenizer->encode(text));
}

TEST(ExplanationPrompt, ExplanationIsTruncatedNeverThePrompt) {
  const std::string dir = test::scratch_dir();
  const SentencePieceTokenizer tokenizer(train(dir, true));
  const Record record = sample_record();
  const std::vector<int> prompt = encode_prompt(tokenizer, record, {});
  const std::vector<int> explanation = tokenizer.encode(record.explanation);
  const int64_t prompt_length = static_cast<int64_t>(prompt.size());
  ASSERT_GT(explanation.size(), 3u);

  PromptOptions options;
  options.max_length = 1000;
  auto whole = encode_example(tokenizer, record, options);
  ASSERT_TRUE(whole.has_value());
  std::vector<int> expected = prompt;
  expected.insert(expected.end(), explanation.begin(), explanation.end());
  expected.push_back(2);
  EXPECT_EQ(whole->ids, expected);
  EXPECT_EQ(whole->prompt_length, prompt_length);
  EXPECT_FALSE(whole->explanation_truncated);

  options.max_length = prompt_length + 3 + 1;
  auto cut = encode_example(tokenizer, record, options);
  ASSERT_TRUE(cut.has_value());
  expected = prompt;
  expected.insert(expected.end(), explanation.begin(), explanation.begin() + 3);
  expected.push_back(2);
  EXPECT_EQ(cut->ids, expected);
  EXPECT_TRUE(cut->explanation_truncated);

  options.max_length = prompt_length + 1;  // room for EOS only
  auto bare = encode_example(tokenizer, record, options);
  ASSERT_TRUE(bare.has_value());
  expected = prompt;
  expected.push_back(2);
  EXPECT_EQ(bare->ids, expected);

  options.max_length = prompt_length;
  EXPECT_FALSE(encode_example(tokenizer, record, options).has_value());
}

}  // namespace
}  // namespace gavamoe
