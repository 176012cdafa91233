// Chat templates: the prompt text a chat model was trained on, rendered by one built-in
// renderer per template family, the family recognised from the model's own template source.
//
// Names (chat_template_names()):
//   auto     the family of the tokenizer's chat_template (see detect_chat_template); a model
//            without a template renders plain
//   plain    the message contents, one per line (a single message: its text as given)
//   chatml   <|im_start|>ROLE\nCONTENT<|im_end|>\n ... [<|im_start|>assistant\n] (SmolLM2,
//            Qwen2). When the template source writes a default system message (SmolLM2: "You
//            are a helpful AI assistant named SmolLM, trained by Hugging Face"), it is inserted
//            when the conversation has none.
//   llama-3  BOS <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT(trimmed)<|eot_id|> ...
//            [<|start_header_id|>assistant<|end_header_id|>\n\n]. When the source carries
//            Llama-3.1's system preamble ("Cutting Knowledge Date: ..."), the system block is
//            always written with it and the template's date ("26 Jul 2024", or today's for
//            templates that ask strftime_now).
//   llama-2  BOS [INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A EOS BOS [INST] ... (stripped)
//   mistral  BOS [INST] U [/INST]A EOS [INST] ...; a system message is folded into the first
//            user text as "S\n\nU" (Mistral's own templates reject a system role)
//   vicuna   S USER: U ASSISTANT: A EOS USER: ... ASSISTANT: (FastChat v1.1, its default S)
//   phi-3    <|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\n (BOS first when the
//            source writes bos_token)
// BOS and EOS are written as the tokenizer's BOS/EOS piece text, so encode() turns them back
// into their ids. The rendered text already holds the BOS the template wants: encode it with
// encode_chat_prompt, which adds BOS only for a tokenizer that adds BOS and a text that does
// not start with it; never add a second BOS (Hugging Face's apply_chat_template encodes without
// special tokens for the same reason).
#pragma once

#include <string>
#include <vector>

#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (chatml and llama-3 take any role)
  std::string content;
};

std::vector<std::string> chat_template_names();

// The family of a Jinja chat template source by its markers (llama.cpp's
// llm_chat_detect_template): "<|im_start|>" chatml; "<|start_header_id|>" with
// "<|end_header_id|>" llama-3; "[INST]" with "<<SYS>>" llama-2, else mistral; "<|assistant|>"
// with "<|end|>" phi-3; "USER: " with "ASSISTANT:" vicuna. "" when none matches.
std::string detect_chat_template(const std::string& source);

// `requested` (a name above, or "auto") resolved for `tokenizer` to a renderer name. An unknown
// name, or under "auto" a template source of no known family, is a gavamoe::Error naming what
// was found and the choices.
std::string resolve_chat_template(const std::string& requested, const Tokenizer& tokenizer);

// The prompt text of `messages` under template `name` (or "auto"); with add_generation_prompt
// the opening of the assistant's turn follows.
std::string render_chat(const std::string& name, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const Tokenizer& tokenizer);

// The ids of a rendered prompt: encode(text), with BOS in front only when the tokenizer adds
// BOS and the text did not already start with it.
std::vector<int> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& rendered);

// The system message a chatml template source inserts when there is none, or "".
std::string default_system_message(const std::string& source);

}  // namespace gavamoe
