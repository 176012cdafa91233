// Prompt templates: how a user's text is wrapped before tokenisation.
//   plain    the text as given (default)
//   llama-2  "[INST] text [/INST]" (Llama 2 chat; BOS comes from the tokenizer settings)
#pragma once

#include <string>
#include <vector>

namespace gavamoe {

std::vector<std::string> prompt_template_names();
// Throws gavamoe::Error naming the known templates when `name` is not one of them.
std::string apply_prompt_template(const std::string& name, const std::string& text);

}  // namespace gavamoe
