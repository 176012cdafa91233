// The building blocks of byte-level BPE against their definitions: GPT-2's byte alphabet,
// lossy UTF-8 (Rust's from_utf8_lossy), Split behaviours (the `tokenizers` documentation's
// "the-final--countdown" example), regexes with Oniguruma's \s, added-token matching, NFC, and
// the merge order (lowest rank first, leftmost on ties) against a brute-force merger.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/added_tokens.hpp"
#include "gavamoe/text/bpe_model.hpp"
#include "gavamoe/text/byte_level.hpp"
#include "gavamoe/text/pre_tokenizer.hpp"
#include "gavamoe/text/regex.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

std::vector<std::string> split(const nlohmann::json& pre, const std::string& text) {
  std::vector<std::string> pieces;
  PreTokenizer::from_json(pre, "test").split(text, pieces);
  return pieces;
}

TEST(ByteLevel, AlphabetMatchesGpt2) {
  EXPECT_EQ(byte_level::encode(" "), "\u0120");
  EXPECT_EQ(byte_level::encode("\n"), "\u010A");
  EXPECT_EQ(byte_level::encode("\t"), "\u0109");
  EXPECT_EQ(byte_level::encode("\x7f"), "\u0121");
  EXPECT_EQ(byte_level::encode("\xad"), "\u0143");
  EXPECT_EQ(byte_level::encode("a!~"), "a!~");
  EXPECT_EQ(byte_level::encode("\xc3\xa9"), "\u00c3\u00a9");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string back;
  byte_level::append_decoded(byte_level::encode(all), back);
  EXPECT_EQ(back, all);
  back.clear();
  byte_level::append_decoded("<|im_start|>", back);  // ASCII tokens stand for themselves
  EXPECT_EQ(back, "<|im_start|>");
  back.clear();
  byte_level::append_decoded("\u2581x", back);  // outside the alphabet: its own bytes
  EXPECT_EQ(back, "\u2581x");
}

TEST(Utf8, LossyRepairFollowsMaximalSubparts) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::repair_lossy("ok"), "ok");
  EXPECT_EQ(utf8::repair_lossy("a\xff"
                               "b"),
            "a" + r + "b");
  EXPECT_EQ(utf8::repair_lossy("\xe2\x82"), r);              // truncated: one replacement
  EXPECT_EQ(utf8::repair_lossy("\xe0\x80"), r + r);          // overlong start: two
  EXPECT_EQ(utf8::repair_lossy("\xed\xa0\x80"), r + r + r);  // surrogate
  EXPECT_EQ(utf8::repair_lossy("\xf0\x9f\x98\x80"), "\U0001F600");
  EXPECT_TRUE(utf8::is_valid("caf\xc3\xa9"));
  EXPECT_FALSE(utf8::is_valid("caf\xc3"));
}

TEST(PreTokenizer, SplitBehavioursOfTheDocumentation) {
  auto with = [](const char* behaviour) {
    return nlohmann::json{
        {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behaviour}};
  };
  const std::string text = "the-final--countdown";
  using V = std::vector<std::string>;
  EXPECT_EQ(split(with("Removed"), text), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split(with("Isolated"), text), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split(with("MergedWithPrevious"), text), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split(with("MergedWithNext"), text), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split(with("Contiguous"), text), (V{"the", "-", "final", "--", "countdown"}));
  nlohmann::json inverted = with("Isolated");
  inverted["pattern"] = {{"Regex", "[a-z]+"}};
  inverted["invert"] = true;
  EXPECT_EQ(split(inverted, text), (V{"the", "-", "final", "--", "countdown"}));
}

TEST(PreTokenizer, DigitsByteLevelAndSequence) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", true}}, "a123b"),
            (V{"a", "1", "2", "3", "b"}));
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", false}}, "a123b4"),
            (V{"a", "123", "b", "4"}));
  EXPECT_EQ(split({{"type", "ByteLevel"}, {"add_prefix_space", true}}, "Hi you"),
            (V{"\u0120Hi", "\u0120you"}));
  EXPECT_EQ(
      split({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}, "Hi you"),
      (V{"Hi\u0120you"}));
  const nlohmann::json smollm = {{"type", "Sequence"},
                                 {"pretokenizers",
                                  {{{"type", "Digits"}, {"individual_digits", true}},
                                   {{"type", "ByteLevel"}, {"add_prefix_space", false}}}}};
  EXPECT_EQ(split(smollm, "it's 42  x"), (V{"it", "'s", "\u0120", "4", "2", "\u0120", "\u0120x"}));
}

TEST(Regex, OnigurumaWhitespaceAndInvalidUtf8) {
  // U+0085 (NEL) is \s for Oniguruma, hence here too; U+3000 needs Unicode classes.
  const Regex space("\\s+");
  EXPECT_EQ(space.find_all("a\u0085b\u3000c").size(), 2u);
  const Regex not_space("[^\\s]+");
  EXPECT_EQ(not_space.find_all("a\u0085b").size(), 2u);
  // Ill-formed bytes never match and never crash.
  const Regex letters("\\p{L}+");
  const auto matches = letters.find_all(
      "ab\xff\xfe"
      "cd\xc3");
  ASSERT_EQ(matches.size(), 2u);
  EXPECT_EQ(matches[1].first, 4u);
  EXPECT_EQ(matches[1].second, 6u);
  EXPECT_THROW(Regex("(unclosed"), Error);
  const Regex literal("a.b", /*literal=*/true);
  EXPECT_EQ(literal.find_all("axb a.b").size(), 1u);
}

TEST(AddedTokens, LeftmostLongestStripAndSingleWord) {
  std::vector<AddedToken> tokens(5);
  tokens[0] = {"<a>", 1};
  tokens[1] = {"<a><b>", 2};
  tokens[2] = {"<l>", 3};
  tokens[2].lstrip = true;
  tokens[3] = {"<r>", 4};
  tokens[3].rstrip = true;
  tokens[4] = {"pad", 5};
  tokens[4].single_word = true;
  const AddedTokenMatcher matcher(tokens);
  auto segments = [&](const std::string& text) {
    std::vector<TextSegment> out;
    matcher.split(text, out);
    std::vector<std::pair<std::string, int>> pairs;
    for (const auto& s : out) pairs.emplace_back(s.text, s.id);
    return pairs;
  };
  using P = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(segments("x<a><b>y<a>"), (P{{"x", -1}, {"<a><b>", 2}, {"y", -1}, {"<a>", 1}}));
  EXPECT_EQ(segments("x  <l>  y"), (P{{"x", -1}, {"  <l>", 3}, {"  y", -1}}));
  EXPECT_EQ(segments("x  <r> \n y"), (P{{"x  ", -1}, {"<r> \n ", 4}, {"y", -1}}));
  EXPECT_EQ(segments("a pad b"), (P{{"a ", -1}, {"pad", 5}, {" b", -1}}));
  EXPECT_EQ(segments("apad padb _pad"), (P{{"apad padb _pad", -1}}));
}

TEST(Normalizer, NfcComposesAndKeepsIllFormedBytes) {
  EXPECT_EQ(nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(nfc("\u00e9"), "\u00e9");
  EXPECT_EQ(nfc("e\u0301\xff"
                "a\u0308"),
            "\u00e9\xff\u00e4");
  const TextNormalizer none = TextNormalizer::from_json(nullptr, "t");
  EXPECT_EQ(none.normalize("e\u0301"), "e\u0301");
  const TextNormalizer sequence =
      TextNormalizer::from_json({{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}}, "t");
  EXPECT_EQ(sequence.normalize("e\u0301"), "\u00e9");
}

// Brute force: scan all adjacent pairs, merge the lowest rank (leftmost among equals), repeat.
std::vector<int> brute_force(std::vector<int> ids,
                             const std::map<std::pair<int, int>, std::pair<int, int>>& merges) {
  while (true) {
    int best = -1, best_rank = 1 << 30;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const auto it = merges.find({ids[i], ids[i + 1]});
      if (it != merges.end() && it->second.first < best_rank)
        best = static_cast<int>(i), best_rank = it->second.first;
    }
    if (best < 0) return ids;
    ids[best] = merges.at({ids[best], ids[best + 1]}).second;
    ids.erase(ids.begin() + best + 1);
  }
}

TEST(BpeModel, MergeOrderEqualsBruteForce) {
  // Letters a..d and every merge of two tokens up to length 4, ranked at random.
  std::mt19937 rng(5);
  std::unordered_map<std::string, int> vocab;
  std::vector<std::string> tokens = {"a", "b", "c", "d"};
  for (const std::string& t : tokens) vocab.emplace(t, static_cast<int>(vocab.size()));
  std::vector<std::pair<std::string, std::string>> merges;
  for (int round = 0; round < 3; ++round) {
    const std::vector<std::string> current = tokens;
    for (const std::string& left : current)
      for (const std::string& right : current) {
        const std::string merged = left + right;
        if (merged.size() > 4 || rng() % 3 != 0 || vocab.count(merged)) continue;
        vocab.emplace(merged, static_cast<int>(vocab.size()));
        tokens.push_back(merged);
        merges.emplace_back(left, right);
      }
  }
  std::shuffle(merges.begin(), merges.end(), rng);
  // Ranks must let a merge's parts exist first; brute force and model see the same table.
  const BpeModel model(vocab, merges, {}, "test");
  std::map<std::pair<int, int>, std::pair<int, int>> table;
  for (size_t rank = 0; rank < merges.size(); ++rank)
    table[{vocab.at(merges[rank].first), vocab.at(merges[rank].second)}] = {
        static_cast<int>(rank), vocab.at(merges[rank].first + merges[rank].second)};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string piece;
    const int length = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < length; ++i) piece += static_cast<char>('a' + rng() % 4);
    std::vector<int> initial;
    for (char c : piece) initial.push_back(vocab.at(std::string(1, c)));
    std::vector<int> ids;
    model.encode_piece(piece, ids);
    EXPECT_EQ(ids, brute_force(initial, table)) << piece;
  }
}

TEST(BpeModel, UnknownCharactersByteFallbackAndIgnoreMerges) {
  std::unordered_map<std::string, int> vocab = {
      {"a", 0}, {"b", 1}, {"ab", 2}, {"<unk>", 3}, {"<0xC3>", 4}, {"<0xA9>", 5}, {"abab", 6}};
  const std::vector<std::pair<std::string, std::string>> merges = {{"a", "b"}};
  std::vector<int> ids;
  BpeModel({vocab}, merges, {}, "t").encode_piece("axb", ids);
  EXPECT_EQ(ids, (std::vector<int>{2}));  // x dropped, so a and b become neighbours and merge
  ids.clear();
  BpeModelOptions unk;
  unk.unk_id = 3;
  BpeModel(vocab, merges, unk, "t").encode_piece("axyb", ids);
  EXPECT_EQ(ids, (std::vector<int>{0, 3, 3, 1}));
  ids.clear();
  unk.fuse_unk = true;
  BpeModel(vocab, merges, unk, "t").encode_piece("axyb", ids);
  EXPECT_EQ(ids, (std::vector<int>{0, 3, 1}));
  ids.clear();
  BpeModelOptions fallback;
  fallback.byte_fallback = true;
  BpeModel(vocab, merges, fallback, "t").encode_piece("a\u00e9", ids);
  EXPECT_EQ(ids, (std::vector<int>{0, 4, 5}));
  ids.clear();
  BpeModel(vocab, merges, {}, "t").encode_piece("abab", ids);
  EXPECT_EQ(ids, (std::vector<int>{2, 2}));  // no merge "ab ab"
  ids.clear();
  BpeModelOptions ignore;
  ignore.ignore_merges = true;
  BpeModel(vocab, merges, ignore, "t").encode_piece("abab", ids);
  EXPECT_EQ(ids, (std::vector<int>{6}));  // the whole piece is a token
}

}  // namespace
}  // namespace gavamoe
