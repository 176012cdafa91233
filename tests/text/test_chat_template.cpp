// Chat templates: the rendered prompts equal transformers' apply_chat_template on real template
// sources (ChatML of SmolLM2, Llama-3, Llama-2, Mistral, Phi-3) text and ids, equal the exact
// forms of each family, families are recognised from real sources, the default system message
// is read from the template, and bad names or unknown templates fail with a clear error.
#include <gtest/gtest.h>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "text/hf_reference.hpp"
#include "text/tiny_bpe.hpp"

namespace gavamoe {
namespace {

const std::vector<ChatMessage> kSystemUser = {{"system", "S"}, {"user", "U"}};

// Real sources (Hugging Face tokenizer_config.json files as llama.cpp's
// tests/test-chat-template.cpp quotes them).
const char* const kSmolLM2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";
const char* const kOpenHermes =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' }}{% endif %}";
const char* const kQwen2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif "
    "%}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const char* const kVigogne =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] "
    "%}{% set system_message = messages[0]['content'] %}{% endif %}{% for message in "
    "loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = "
    "'<<SYS>>\\\\n' + system_message + '\\\\n<</SYS>>\\\\n\\\\n' + message['content'] %}{% endif "
    "%}{% if message['role'] == 'user' %}{{ '[INST] ' + content.strip() + ' [/INST]' }}{% endif "
    "%}{% endfor %}";
const char* const kMistral =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' "
    "+ message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ "
    "message['content'] + eos_token}}{% endif %}{% endfor %}";
const char* const kPhi3Mini =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') "
    "%}{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + "
    "'\n'}}{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + "
    "'\n'}}{% endif %}{% endfor %}";
const char* const kVicuna =
    "{%- for message in messages %}{%- if message['role'] == 'system' -%}{{- '' + "
    "message['content'] + '\n\n' -}}{%- else -%}{%- if message['role'] == 'user' -%}{{-'USER: ' "
    "+ message['content'] + '\n'-}}{%- else -%}{{-'ASSISTANT: ' + message['content'] + '</s>\n' "
    "-}}{%- endif -%}{%- endif -%}{%- endfor -%}{%- if add_generation_prompt "
    "-%}{{-'ASSISTANT:'-}}{%- endif -%}";
const char* const kGemma =
    "{% for message in messages %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | "
    "trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt "
    "%}{{'<start_of_turn>model\\n'}}{% endif %}";
const char* const kLlama31 =
    "{{- bos_token }}\n{%- if not date_string is defined %}\n    {%- set date_string = \"26 Jul "
    "2024\" %}\n{%- endif %}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{{- "
    "\"Cutting Knowledge Date: December 2023\\n\" }}\n{{- \"Today Date: \" + date_string + "
    "\"\\n\\n\" }}\n{{- system_message }}\n{{- \"<|eot_id|>\" }}\n{%- for message in messages "
    "%}\n    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
    "message['content'] | trim + '<|eot_id|>' }}\n{%- endfor %}";

const std::vector<std::string> kSpecials = {"<|begin_of_text|>", "<|eot_id|>", "<s>", "</s>",
                                            "<|im_start|>",      "<|im_end|>"};

std::unique_ptr<Tokenizer> with_template(const std::string& source, int bos, int eos) {
  return test::tiny_bpe(kSpecials, source, {}, bos, eos);
}

TEST(ChatTemplate, EqualsTransformersOnRealTemplates) {
  GAVAMOE_REQUIRE_HF_REFERENCE(reference);
  int compared = 0;
  for (const auto& chat : reference.json["chat"]) {
    const auto tokenizer = load_tokenizer(chat["dir"].get<std::string>());
    const std::string family = chat["family"];
    EXPECT_EQ(detect_chat_template(tokenizer->chat_template()), family);
    std::vector<ChatMessage> messages;
    for (const auto& m : chat["messages"]) messages.push_back({m["role"], m["content"]});
    const std::string text = render_chat("auto", messages, true, *tokenizer);
    EXPECT_EQ(text, chat["text"].get<std::string>()) << family;
    EXPECT_EQ(encode_chat_prompt(*tokenizer, text), chat["ids"].get<std::vector<int>>()) << family;
    ++compared;
  }
  EXPECT_GE(compared, 9);
}

TEST(ChatTemplate, ExactFormsOfEachFamily) {
  const auto chatml = with_template(kOpenHermes, -1, 5);
  EXPECT_EQ(render_chat("auto", kSystemUser, true, *chatml),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>"
            "assistant\n");
  EXPECT_EQ(render_chat("chatml", {{"user", "U"}}, false, *chatml),
            "<|im_start|>user\nU<|im_end|>\n");

  const auto llama3 = with_template("<|start_header_id|><|end_header_id|>", 0, 1);
  EXPECT_EQ(render_chat("llama-3", {{"system", " S "}, {"user", "U\n"}}, true, *llama3),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_"
            "header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_"
            "header_id|>\n\n");
  const auto llama31 = with_template(kLlama31, 0, 1);
  EXPECT_EQ(render_chat("auto", kSystemUser, true, *llama31),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge "
            "Date: December 2023\nToday Date: 26 Jul 2024\n\nS<|eot_id|><|start_header_id|>user<|"
            "end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat("auto", {{"user", "U"}}, false, *llama31),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge "
            "Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|"
            "end_header_id|>\n\nU<|eot_id|>");

  const auto sp_style = with_template("", 2, 3);
  EXPECT_EQ(render_chat("llama-2", kSystemUser, true, *sp_style),
            "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]");
  EXPECT_EQ(
      render_chat("llama-2", {{"user", "U"}, {"assistant", " A "}, {"user", "V"}}, true, *sp_style),
      "<s>[INST] U [/INST] A </s><s>[INST] V [/INST]");
  EXPECT_EQ(render_chat("mistral", {{"user", "U"}}, true, *sp_style), "<s>[INST] U [/INST]");
  EXPECT_EQ(
      render_chat("mistral", {{"system", "S"}, {"user", "U"}, {"assistant", "A"}}, true, *sp_style),
      "<s>[INST] S\n\nU [/INST]A</s>");
  EXPECT_EQ(render_chat("vicuna", kSystemUser, true, *sp_style), "S USER: U ASSISTANT:");
  EXPECT_EQ(render_chat("vicuna", {{"user", "U"}}, true, *sp_style),
            "A chat between a curious user and an artificial intelligence assistant. The "
            "assistant gives helpful, detailed, and polite answers to the user's questions. USER: "
            "U ASSISTANT:");
  EXPECT_EQ(render_chat("phi-3", kSystemUser, true, *sp_style),
            "<|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\n");
  EXPECT_EQ(render_chat("plain", kSystemUser, true, *sp_style), "S\nU");
  EXPECT_THROW(render_chat("llama-2", {{"tool", "x"}}, true, *sp_style), Error);
}

TEST(ChatTemplate, DefaultSystemMessageComesFromTheTemplate) {
  EXPECT_EQ(default_system_message(kSmolLM2),
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  EXPECT_EQ(default_system_message(kQwen2), "You are a helpful assistant.");
  EXPECT_EQ(default_system_message(kOpenHermes), "");
  const auto smollm = with_template(kSmolLM2, 4, 5);
  EXPECT_EQ(render_chat("auto", {{"user", "Hi"}}, true, *smollm),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat("auto", kSystemUser, false, *smollm),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n");
}

TEST(ChatTemplate, FamiliesAreRecognisedFromRealSources) {
  EXPECT_EQ(detect_chat_template(kSmolLM2), "chatml");
  EXPECT_EQ(detect_chat_template(kOpenHermes), "chatml");
  EXPECT_EQ(detect_chat_template(kQwen2), "chatml");
  EXPECT_EQ(detect_chat_template(kLlama31), "llama-3");
  EXPECT_EQ(detect_chat_template(kVigogne), "llama-2");
  EXPECT_EQ(detect_chat_template(kMistral), "mistral");
  EXPECT_EQ(detect_chat_template(kPhi3Mini), "phi-3");
  EXPECT_EQ(detect_chat_template(kVicuna), "vicuna");
  EXPECT_EQ(detect_chat_template(kGemma), "");
}

TEST(ChatTemplate, NamesAutoAndErrors) {
  const auto none = with_template("", 2, 3);
  EXPECT_EQ(resolve_chat_template("auto", *none), "plain");
  EXPECT_EQ(render_chat("auto", {{"user", "just text"}}, true, *none), "just text");
  // The former prompt-template names keep their meaning.
  EXPECT_EQ(render_chat("plain", {{"user", "text"}}, true, *none), "text");
  EXPECT_EQ(render_chat("llama-2", {{"user", "text"}}, true, *none), "<s>[INST] text [/INST]");
  try {
    resolve_chat_template("chat", *none);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'chat'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chatml"), std::string::npos) << e.what();
  }
  const auto gemma = with_template(kGemma, 2, 3);
  try {
    resolve_chat_template("auto", *gemma);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tiny.gguf"), std::string::npos) << message;
    EXPECT_NE(message.find("<start_of_turn>"), std::string::npos) << message;
    EXPECT_NE(message.find("llama-3"), std::string::npos) << message;
  }
  EXPECT_EQ(render_chat("chatml", {{"user", "U"}}, true, *gemma),
            "<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, RenderedBosIsNotDoubled) {
  const auto adds = test::tiny_bpe(kSpecials, "", {}, 2, 3, /*add_bos=*/true);
  const int bos = adds->bos_id();
  const std::vector<int> ids =
      encode_chat_prompt(*adds, render_chat("llama-2", {{"user", "x"}}, true, *adds));
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], bos);
  EXPECT_NE(ids[1], bos);
  const std::vector<int> vicuna =
      encode_chat_prompt(*adds, render_chat("vicuna", {{"user", "x"}}, true, *adds));
  EXPECT_EQ(vicuna[0], bos);  // the template writes none: the tokenizer's BOS goes first
  EXPECT_NE(vicuna[1], bos);
  const auto no_bos = test::tiny_bpe(kSpecials, "", {}, 2, 3, /*add_bos=*/false);
  EXPECT_NE(encode_chat_prompt(*no_bos, "x")[0], no_bos->bos_id());
}

}  // namespace
}  // namespace gavamoe
