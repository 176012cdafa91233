// Built-in chat template renderers and their detection (chat_template.hpp). The rendered forms
// follow the models' Hugging Face templates (as rendered by transformers' apply_chat_template)
// and FastChat for Vicuna; `trim` / `strip` remove Python's whitespace set, as Jinja does.
#include "gavamoe/text/chat_template.hpp"

#include <algorithm>
#include <ctime>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

const char* const kVicunaSystem =
    "A chat between a curious user and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the user's questions.";

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

// Python's str.isspace() code points.
bool python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::string trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end) {
    const size_t length = utf8::sequence_length(text, begin);
    if (!length || !python_space(utf8::decode_at(text, begin, length))) break;
    begin += length;
  }
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    const size_t length = utf8::sequence_length(text, start);
    if (length != end - start || !python_space(utf8::decode_at(text, start, length))) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

std::string piece_or_empty(const Tokenizer& tokenizer, int id) {
  return id >= 0 ? tokenizer.id_to_piece(id) : std::string();
}

// A Jinja string literal's text starting at `at` up to (not including) `stop`, with its
// escapes resolved; "" unless the stretch is a plain literal (no quote, no Jinja markup).
std::string literal_until(const std::string& source, size_t at, const std::string& stop) {
  const size_t end = source.find(stop, at);
  if (end == std::string::npos) return "";
  const std::string raw = source.substr(at, end - at);
  if (raw.find_first_of("'\"{}") != std::string::npos) return "";
  std::string text;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      const char next = raw[++i];
      text += next == 'n' ? '\n' : next == 't' ? '\t' : next;
    } else {
      text += raw[i];
    }
  }
  return text;
}

// After `marker` in the source: a newline, written as one or as the escape "\n".
size_t after_newline(const std::string& source, size_t at) {
  if (at < source.size() && source[at] == '\n') return at + 1;
  if (source.compare(at, 2, "\\n") == 0) return at + 2;
  return std::string::npos;
}

struct Llama31Preamble {
  bool present = false;
  std::string knowledge, date;
};

Llama31Preamble llama31_preamble(const std::string& source) {
  Llama31Preamble preamble;
  const std::string marker = "Cutting Knowledge Date: ";
  const size_t at = source.find(marker);
  if (at == std::string::npos) return preamble;
  preamble.present = true;
  const size_t begin = at + marker.size();
  const size_t end = std::min(source.find('\n', begin), source.find("\\n", begin));
  preamble.knowledge = source.substr(begin, end == std::string::npos ? 0 : end - begin);
  // The date: today's for templates that ask strftime_now, else their date_string default.
  if (contains(source, "strftime_now")) {
    const std::time_t now = std::time(nullptr);
    char buffer[32];
    std::strftime(buffer, sizeof(buffer), "%d %b %Y", std::localtime(&now));
    preamble.date = buffer;
  } else {
    for (const char* key : {"date_string = \"", "date_string = '"}) {
      const size_t found = source.find(key);
      if (found == std::string::npos) continue;
      const size_t date_begin = found + std::string(key).size();
      const size_t date_end = source.find(key[std::string(key).size() - 1], date_begin);
      if (date_end != std::string::npos)
        preamble.date = source.substr(date_begin, date_end - date_begin);
      break;
    }
    if (preamble.date.empty()) preamble.date = "26 Jul 2024";
  }
  return preamble;
}

// The conversation split into an optional leading system message and the rest.
struct Conversation {
  bool has_system = false;
  std::string system;
  std::vector<ChatMessage> turns;
};

Conversation split_system(const std::vector<ChatMessage>& messages) {
  Conversation conversation;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") {
    conversation.has_system = true;
    conversation.system = messages[0].content;
    first = 1;
  }
  conversation.turns.assign(messages.begin() + static_cast<long>(first), messages.end());
  return conversation;
}

void require_roles(const std::vector<ChatMessage>& turns, const std::string& name) {
  for (const ChatMessage& message : turns)
    if (message.role != "user" && message.role != "assistant")
      throw Error("chat template " + name + ": role '" + message.role +
                  "' is not one of system (first), user, assistant");
}

std::string render_plain(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) out += (i ? "\n" : "") + messages[i].content;
  return out;
}

std::string render_chatml(const std::vector<ChatMessage>& messages, bool generation,
                          const std::string& source) {
  std::string out;
  const std::string fallback = default_system_message(source);
  if (!fallback.empty() && !messages.empty() && messages[0].role != "system")
    out += "<|im_start|>system\n" + fallback + "<|im_end|>\n";
  for (const ChatMessage& m : messages)
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (generation) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_llama3(const std::vector<ChatMessage>& messages, bool generation,
                          const Tokenizer& tokenizer) {
  auto block = [](const std::string& role, const std::string& content) {
    return "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content + "<|eot_id|>";
  };
  std::string out = piece_or_empty(tokenizer, tokenizer.bos_id());
  const Llama31Preamble preamble = llama31_preamble(tokenizer.chat_template());
  if (preamble.present) {
    const Conversation conversation = split_system(messages);
    out += block("system", "Cutting Knowledge Date: " + preamble.knowledge + "\nToday Date: " +
                               preamble.date + "\n\n" + trim(conversation.system));
    for (const ChatMessage& m : conversation.turns) out += block(m.role, trim(m.content));
  } else {
    for (const ChatMessage& m : messages) out += block(m.role, trim(m.content));
  }
  if (generation) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_llama2(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer) {
  const Conversation conversation = split_system(messages);
  require_roles(conversation.turns, "llama-2");
  const std::string bos = piece_or_empty(tokenizer, tokenizer.bos_id());
  const std::string eos = piece_or_empty(tokenizer, tokenizer.eos_id());
  std::string out;
  for (size_t i = 0; i < conversation.turns.size(); ++i) {
    std::string content = conversation.turns[i].content;
    if (i == 0 && conversation.has_system)
      content = "<<SYS>>\n" + conversation.system + "\n<</SYS>>\n\n" + content;
    if (conversation.turns[i].role == "user")
      out += bos + "[INST] " + trim(content) + " [/INST]";
    else
      out += " " + trim(content) + " " + eos;
  }
  return out;
}

std::string render_mistral(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer) {
  const Conversation conversation = split_system(messages);
  require_roles(conversation.turns, "mistral");
  std::string out = piece_or_empty(tokenizer, tokenizer.bos_id());
  const std::string eos = piece_or_empty(tokenizer, tokenizer.eos_id());
  bool first_user = true;
  for (const ChatMessage& m : conversation.turns) {
    if (m.role == "assistant") {
      out += m.content + eos;
      continue;
    }
    std::string content = m.content;
    if (first_user && conversation.has_system) content = conversation.system + "\n\n" + content;
    first_user = false;
    out += "[INST] " + content + " [/INST]";
  }
  return out;
}

std::string render_vicuna(const std::vector<ChatMessage>& messages, bool generation,
                          const Tokenizer& tokenizer) {
  const Conversation conversation = split_system(messages);
  require_roles(conversation.turns, "vicuna");
  const std::string eos = piece_or_empty(tokenizer, tokenizer.eos_id());
  std::string out = (conversation.has_system ? conversation.system : kVicunaSystem) + " ";
  for (const ChatMessage& m : conversation.turns)
    out += m.role == "user" ? "USER: " + m.content + " " : "ASSISTANT: " + m.content + eos;
  if (generation) out += "ASSISTANT:";
  return out;
}

std::string render_phi3(const std::vector<ChatMessage>& messages, bool generation,
                        const Tokenizer& tokenizer) {
  std::string out;
  if (contains(tokenizer.chat_template(), "bos_token"))
    out += piece_or_empty(tokenizer, tokenizer.bos_id());
  for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (generation) out += "<|assistant|>\n";
  return out;
}

std::string names_list() {
  std::string list;
  for (const std::string& name : chat_template_names()) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

std::vector<std::string> chat_template_names() {
  return {"auto", "plain", "chatml", "llama-3", "llama-2", "mistral", "vicuna", "phi-3"};
}

std::string detect_chat_template(const std::string& source) {
  if (contains(source, "<|im_start|>")) return "chatml";
  if (contains(source, "<|start_header_id|>") && contains(source, "<|end_header_id|>"))
    return "llama-3";
  if (contains(source, "[INST]")) return contains(source, "<<SYS>>") ? "llama-2" : "mistral";
  if (contains(source, "<|assistant|>") && contains(source, "<|end|>")) return "phi-3";
  if (contains(source, "USER: ") && contains(source, "ASSISTANT:")) return "vicuna";
  return "";
}

std::string default_system_message(const std::string& source) {
  const std::string marker = "<|im_start|>system";
  for (size_t at = source.find(marker); at != std::string::npos;
       at = source.find(marker, at + marker.size())) {
    const size_t text = after_newline(source, at + marker.size());
    if (text == std::string::npos) continue;
    const std::string message = literal_until(source, text, "<|im_end|>");
    if (!message.empty()) return message;
  }
  return "";
}

std::string resolve_chat_template(const std::string& requested, const Tokenizer& tokenizer) {
  const std::vector<std::string> names = chat_template_names();
  if (std::find(names.begin(), names.end(), requested) == names.end())
    throw Error("unknown chat template '" + requested + "' (known: " + names_list() + ")");
  if (requested != "auto") return requested;
  const std::string& source = tokenizer.chat_template();
  if (source.empty()) return "plain";
  const std::string family = detect_chat_template(source);
  if (!family.empty()) return family;
  std::string start = source.substr(0, 80);
  std::replace(start.begin(), start.end(), '\n', ' ');
  throw Error(tokenizer.source() + ": its chat template is of no known family (it begins \"" +
              start +
              "\" and has none of <|im_start|>, <|start_header_id|>, [INST], <|assistant|> with "
              "<|end|>, USER: with ASSISTANT:); choose one of " +
              names_list().substr(6) + " instead of auto");
}

std::string render_chat(const std::string& name, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, const Tokenizer& tokenizer) {
  const std::string family = resolve_chat_template(name, tokenizer);
  if (family == "plain") return render_plain(messages);
  if (family == "chatml")
    return render_chatml(messages, add_generation_prompt, tokenizer.chat_template());
  if (family == "llama-3") return render_llama3(messages, add_generation_prompt, tokenizer);
  if (family == "llama-2") return render_llama2(messages, tokenizer);
  if (family == "mistral") return render_mistral(messages, tokenizer);
  if (family == "vicuna") return render_vicuna(messages, add_generation_prompt, tokenizer);
  return render_phi3(messages, add_generation_prompt, tokenizer);
}

std::vector<int> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& rendered) {
  std::vector<int> ids = tokenizer.encode(rendered);
  const int bos = tokenizer.bos_id();
  if (tokenizer.adds_bos() && bos >= 0 && (ids.empty() || ids.front() != bos))
    ids.insert(ids.begin(), bos);
  return ids;
}

}  // namespace gavamoe
