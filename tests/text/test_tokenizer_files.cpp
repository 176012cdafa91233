// Tokenizer files: malformed tokenizer.json files fail with one error naming the file and the
// fault; folders pick the right file and settings; SentencePiece and BPE tokenizers save as
// Hugging Face folders and reload with the same ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "test_util.hpp"
#include "text/tiny_bpe.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

json minimal_document() {
  return json::parse(R"({
    "version": "1.0", "added_tokens": [{"id": 5, "content": "<|end|>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": null, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4},
              "merges": ["a b", ["\u0120", "ab"]]}})");
}

// Writes `document` (or raw text) as dir/tokenizer.json and returns the error message.
std::string load_error(const std::string& dir, const std::string& text) {
  std::filesystem::create_directories(dir);
  test::write_text(dir + "/tokenizer.json", text);
  try {
    load_tokenizer(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TokenizerFiles, MinimalTokenizerJsonWorks) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/tokenizer.json", minimal_document().dump());
  const auto tokenizer = load_tokenizer(dir);
  EXPECT_EQ(tokenizer->vocab_size(), 6);
  EXPECT_EQ(tokenizer->encode("ab ab<|end|>"), (std::vector<int>{2, 4, 5}));
  EXPECT_EQ(tokenizer->decode({2, 4, 5}), "ab ab<|end|>");
  EXPECT_EQ(tokenizer->decode({2, 4, 5}, true), "ab ab");
  EXPECT_EQ(tokenizer->encode("abc"), (std::vector<int>{2}));  // 'c' has no token: dropped
  EXPECT_EQ(tokenizer->piece_to_id("<|end|>"), 5);
  EXPECT_EQ(tokenizer->piece_to_id("zz"), -1);
  EXPECT_FALSE(tokenizer->adds_bos());
  EXPECT_EQ(tokenizer->end_of_generation_ids(), std::vector<int>{5});
  EXPECT_THROW(tokenizer->decode({6}), Error);
}

TEST(TokenizerFiles, MalformedTokenizerJsonNamesTheFileAndTheFault) {
  const std::string dir = test::scratch_dir();
  struct Case {
    std::string name, fault;
    std::function<void(json&)> edit;
    std::string raw;
  };
  const std::vector<Case> cases = {
      {"not_json", "invalid JSON", nullptr, "{\"model\": "},
      {"no_model", "no \"model\"", [](json& j) { j.erase("model"); }, ""},
      {"wordpiece", "model type 'WordPiece'", [](json& j) { j["model"]["type"] = "WordPiece"; },
       ""},
      {"bad_merge_line", "merges[0] 'a b c'", [](json& j) { j["model"]["merges"][0] = "a b c"; },
       ""},
      {"bad_merge_entry", "merges[1] is neither", [](json& j) { j["model"]["merges"][1] = 7; }, ""},
      {"merge_outside_vocab", "merge 0 ('a' 'x')", [](json& j) { j["model"]["merges"][0] = "a x"; },
       ""},
      {"vocab_not_object", "no \"vocab\" object", [](json& j) { j["model"]["vocab"] = 3; }, ""},
      {"vocab_bad_id", "vocab entry 'a'", [](json& j) { j["model"]["vocab"]["a"] = "zero"; }, ""},
      {"unknown_pre_tokenizer", "pre_tokenizer 'Whitespace'",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "Whitespace"}};
       },
       ""},
      {"unknown_normalizer", "normalizer 'Lowercase'",
       [](json& j) {
         j["normalizer"] = {{"type", "Lowercase"}};
       },
       ""},
      {"bad_regex", "pre_tokenizer Split",
       [](json& j) {
         j["pre_tokenizer"] = {
             {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
       },
       ""},
      {"bad_behaviour", "unknown behavior 'Sideways'",
       [](json& j) {
         j["pre_tokenizer"] = {
             {"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}};
       },
       ""},
      {"unknown_decoder", "decoder 'WordPiece'",
       [](json& j) {
         j["decoder"] = {{"type", "WordPiece"}};
       },
       ""},
      {"added_token_without_content", "added_tokens[0]",
       [](json& j) { j["added_tokens"][0].erase("content"); }, ""},
      {"wrong_type_flag", "\"lstrip\" has the wrong type",
       [](json& j) { j["added_tokens"][0]["lstrip"] = "yes"; }, ""},
      {"dropout", "dropout", [](json& j) { j["model"]["dropout"] = 0.1; }, ""},
      {"unk_outside_vocab", "unk_token", [](json& j) { j["model"]["unk_token"] = "<unk>"; }, ""},
      {"not_an_object", "not a tokenizer.json object", nullptr, "[1, 2]"},
      // A lying id would size the id table (gigabytes); ids must be integers, not floats or
      // bools; a deep document would overflow the stack of the copies and walks.
      {"lying_vocab_id", "token id 1000000000 is far beyond the 6 tokens",
       [](json& j) { j["model"]["vocab"]["a"] = 1000000000; }, ""},
      {"lying_added_token_id", "token id 1073741824 is far beyond",
       [](json& j) { j["added_tokens"][0]["id"] = 1 << 30; }, ""},
      {"float_added_token_id", "added_tokens[0] needs a \"content\" and an \"id\"",
       [](json& j) { j["added_tokens"][0]["id"] = 1e30; }, ""},
      {"bool_added_token_id", "added_tokens[0] needs a \"content\" and an \"id\"",
       [](json& j) { j["added_tokens"][0]["id"] = true; }, ""},
      {"template_id_out_of_range", "no ids for special token '<|end|>'",
       [](json& j) {
         j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|end|>", "type_id": 0}}],
             "special_tokens": {"<|end|>": {"ids": [4294967301]}}})");
       },
       ""},
      {"nested_too_deep", "nested deeper than 64 levels", nullptr,
       R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "x": )" + std::string(100000, '[') +
           std::string(100000, ']') + "}"},
  };
  for (const Case& c : cases) {
    std::string text = c.raw;
    if (c.edit) {
      json document = minimal_document();
      c.edit(document);
      text = document.dump();
    }
    const std::string folder = dir + "/" + c.name;
    const std::string message = load_error(folder, text);
    EXPECT_NE(message.find(folder + "/tokenizer.json"), std::string::npos)
        << c.name << ": " << message;
    EXPECT_NE(message.find(c.fault), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name << ": " << message;
  }
}

TEST(TokenizerFiles, BadFoldersAndSettings) {
  const std::string dir = test::scratch_dir();
  EXPECT_THROW(load_tokenizer(dir), Error);  // an empty folder
  EXPECT_THROW(load_tokenizer(dir + "/missing"), Error);
  test::write_text(dir + "/model.gguf", "GGUF");
  EXPECT_THROW(load_tokenizer(dir + "/model.gguf"), Error);
  test::write_text(dir + "/tokenizer.json", minimal_document().dump());
  test::write_text(dir + "/tokenizer_config.json", R"({"bos_token": "<nope>"})");
  try {
    load_tokenizer(dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bos_token '<nope>'"), std::string::npos) << e.what();
  }
  test::write_text(dir + "/tokenizer_config.json", R"({"add_bos_token": "yes"})");
  EXPECT_THROW(load_tokenizer(dir), Error);
  test::write_text(dir + "/tokenizer_config.json",
                   R"({"eos_token": {"content": "<|end|>"}, "add_bos_token": false,
                       "chat_template": [{"name": "tool_use", "template": "T"},
                                         {"name": "default", "template": "D"}]})");
  test::write_text(dir + "/generation_config.json", R"({"eos_token_id": [5, 1]})");
  const auto tokenizer = load_tokenizer(dir);
  EXPECT_EQ(tokenizer->eos_id(), 5);
  EXPECT_EQ(tokenizer->chat_template(), "D");
  EXPECT_EQ(tokenizer->end_of_generation_ids(), (std::vector<int>{5, 1}));
}

TEST(TokenizerFiles, HostileFilesNextToTokenizerModelAreErrors) {
  // With a tokenizer.model beside it, the folder's tokenizer.json is inspected for ByteLevel
  // first: that must take any JSON (a "type" that is no string, a top level that is no object,
  // deep nesting) and end in a gavamoe::Error, never in a raw nlohmann exception.
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/tokenizer.model", "not a model");
  for (const std::string& text :
       {std::string(R"({"pre_tokenizer": {"type": 5}})"), std::string("[1, 2]"), std::string("7"),
        R"({"pre_tokenizer": )" + std::string(100000, '[') + std::string(100000, ']') + "}"}) {
    test::write_text(dir + "/tokenizer.json", text);
    EXPECT_THROW(load_tokenizer(dir), Error) << text.substr(0, 40);
  }
  test::write_text(dir + "/tokenizer.json", "[1, 2]");
  try {
    load_tokenizer(dir);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json: not a tokenizer.json object"),
              std::string::npos)
        << e.what();
  }
}

TEST(TokenizerFiles, SettingsOfTheWrongTypeAreErrors) {
  const std::string dir = test::scratch_dir();
  test::write_text(dir + "/tokenizer.json", minimal_document().dump());
  // A chat template entry whose name is no string is just not the default one.
  test::write_text(dir + "/tokenizer_config.json",
                   R"({"chat_template": [{"name": 5, "template": "T"},
                                         {"name": "default", "template": "D"}]})");
  EXPECT_EQ(load_tokenizer(dir)->chat_template(), "D");
  test::write_text(dir + "/tokenizer_config.json", R"({"chat_template": [{"name": 5,
                                                      "template": "T"}]})");
  EXPECT_EQ(load_tokenizer(dir)->chat_template(), "T");
  std::filesystem::remove(dir + "/tokenizer_config.json");
  // An id that does not fit an int is refused, not wrapped into a valid one (2^32 + 5 -> 5).
  for (const char* config :
       {R"({"eos_token_id": 4294967301})", R"({"bos_token_id": [-4294967291]})",
        R"({"pad_token_id": 18446744073709551615})"}) {
    test::write_text(dir + "/config.json", config);
    try {
      load_tokenizer(dir);
      ADD_FAILURE() << "no error for " << config;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("config.json: \""), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("holds an id out of range"), std::string::npos)
          << e.what();
    }
  }
}

TEST(TokenizerFiles, BpeAndSentencePieceSaveAndReload) {
  const std::string dir = test::scratch_dir();
  const auto bpe = test::tiny_bpe({"<s>", "</s>"}, "{{ '<|im_start|>' }}", {{"a", "b"}}, 0, 1,
                                  /*add_bos=*/true);
  save_hf_tokenizer(*bpe, dir + "/bpe");
  const auto bpe_back = load_tokenizer(dir + "/bpe");
  for (const std::string text : {"ab cab", "<s>x</s>", "\xff ok"})
    EXPECT_EQ(bpe_back->encode(text), bpe->encode(text)) << text;
  EXPECT_TRUE(bpe_back->adds_bos());
  EXPECT_EQ(bpe_back->bos_id(), bpe->bos_id());
  EXPECT_EQ(bpe_back->chat_template(), bpe->chat_template());

  std::vector<std::string> sentences;
  for (int i = 0; i < 200; ++i) sentences.push_back("the neck is warm number " + std::to_string(i));
  TokenizerTrainOptions options;
  options.vocab_size = 300;
  train_tokenizer(sentences, options, dir + "/tok.model");
  const SentencePieceTokenizer sp(dir + "/tok.model", {false, "{{ '[INST]' }}"});
  save_hf_tokenizer(sp, dir + "/sp");
  EXPECT_TRUE(std::filesystem::exists(dir + "/sp/tokenizer.model"));
  const auto sp_back = load_tokenizer(dir + "/sp");
  EXPECT_EQ(sp_back->kind(), "sentencepiece");
  EXPECT_FALSE(sp_back->adds_bos());
  EXPECT_EQ(sp_back->chat_template(), "{{ '[INST]' }}");
  for (const std::string text : {"the neck <user> is warm 12", "<s>[INST] hi [/INST]"})
    EXPECT_EQ(sp_back->encode(text), sp.encode(text)) << text;
  // Control pieces written in text are their ids; decoding writes them back unless skipped.
  const std::vector<int> ids = sp.encode("<s>hi</s>");
  EXPECT_EQ(ids.front(), sp.bos_id());
  EXPECT_EQ(ids.back(), sp.eos_id());
  EXPECT_EQ(sp.decode(ids), "<s>hi</s>");
  EXPECT_EQ(sp.decode(ids, true), "hi");
}

}  // namespace
}  // namespace gavamoe
