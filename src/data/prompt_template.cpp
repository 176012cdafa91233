// Prompt templates (plain, llama-2).
#include "gavamoe/data/prompt_template.hpp"

#include "gavamoe/core/error.hpp"

namespace gavamoe {

std::vector<std::string> prompt_template_names() { return {"plain", "llama-2"}; }

std::string apply_prompt_template(const std::string& name, const std::string& text) {
  if (name == "plain") return text;
  if (name == "llama-2") return "[INST] " + text + " [/INST]";
  throw Error("unknown prompt template '" + name + "' (known: plain, llama-2)");
}

}  // namespace gavamoe
