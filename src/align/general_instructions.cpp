// General instructions mixed into the alignment samples (general_instructions.hpp).
#include "gavamoe/align/general_instructions.hpp"

#include <cmath>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/rec/sampling.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// ShareGPT's "from" or the chat "role" as "user" | "assistant" | the name given.
std::string role_of(const std::string& name) {
  if (name == "human" || name == "user") return "user";
  if (name == "gpt" || name == "assistant" || name == "chatgpt" || name == "bard")
    return "assistant";
  return name;
}

// The turns of one conversation object; errors name `where`.
std::vector<ChatMessage> turns_of(const json& conversation, const std::string& where) {
  if (!conversation.is_object()) throw Error(where + ": not a JSON object");
  const bool sharegpt = conversation.contains("conversations");
  const char* list = sharegpt ? "conversations" : "messages";
  const char* role = sharegpt ? "from" : "role";
  const char* text = sharegpt ? "value" : "content";
  if (!conversation.contains(list) || !conversation.at(list).is_array())
    throw Error(where + ": needs a 'conversations' (ShareGPT) or 'messages' list");
  std::vector<ChatMessage> turns;
  for (const json& turn : conversation.at(list)) {
    if (!turn.is_object() || !turn.contains(role) || !turn.at(role).is_string() ||
        !turn.contains(text) || !turn.at(text).is_string())
      throw Error(where + ": every turn needs string '" + role + "' and '" + text + "'");
    turns.push_back({role_of(turn.at(role).get<std::string>()), turn.at(text).get<std::string>()});
  }
  return turns;
}

// The original's filter; an empty result when the conversation is not kept.
std::vector<ChatMessage> kept_turns(std::vector<ChatMessage> turns) {
  if (!turns.empty() && turns.front().role != "user") turns.erase(turns.begin());
  if (turns.size() % 2 == 1) turns.pop_back();  // a last user turn has no answer to train on
  if (turns.size() < 2) return {};
  for (size_t k = 0; k < turns.size(); ++k)
    if (turns[k].role != (k % 2 == 0 ? "user" : "assistant") || turns[k].content.empty()) return {};
  return turns;
}

}  // namespace

GeneralInstructions read_general_instructions(const std::string& path) {
  const json file = read_json_file(path);
  if (!file.is_array()) throw file_error(path, "is not a JSON array of conversations");
  GeneralInstructions general;
  general.read = static_cast<int64_t>(file.size());
  for (size_t i = 0; i < file.size(); ++i) {
    auto turns = kept_turns(turns_of(file[i], path + ": conversation " + std::to_string(i)));
    if (!turns.empty()) general.conversations.push_back(std::move(turns));
  }
  return general;
}

std::pair<int64_t, int64_t> mix_general_instructions(AlignData& data,
                                                     const GeneralInstructions& general,
                                                     double ratio, uint64_t seed) {
  if (!(ratio >= 0)) throw Error("align data: --general-ratio must be 0 or more");
  const auto wanted = [&](size_t samples) {
    return static_cast<size_t>(std::llround(ratio * static_cast<double>(samples)));
  };
  const size_t available = general.conversations.size();
  const size_t train = std::min(available, wanted(data.train.size()));
  const size_t valid = std::min(available - train, wanted(data.valid.size()));
  Rng rng(seed);
  const std::vector<int64_t> order =
      draw_distinct(rng, static_cast<int64_t>(available), static_cast<int64_t>(train + valid));
  for (size_t k = 0; k < train + valid; ++k) {
    AlignSample s;
    s.type = "sharegpt";
    s.conversation = general.conversations[order[k]];
    (k < train ? data.train : data.valid).push_back(std::move(s));
  }
  return {static_cast<int64_t>(train), static_cast<int64_t>(valid)};
}

}  // namespace gavamoe
