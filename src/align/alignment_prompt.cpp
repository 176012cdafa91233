// The surrogate's prompt and training example of an alignment sample (see the header).
#include "gavamoe/align/alignment_prompt.hpp"

#include <algorithm>

#include "gavamoe/align/task_templates.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/strings.hpp"
#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/text/chat_template.hpp"

namespace gavamoe {
using nlohmann::json;

AlignQuery AlignQuery::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": not a JSON object");
  AlignQuery q;
  q.type = json_value<std::string>(j, "type", where);
  if (q.type == "sharegpt") {
    const json turns = json_value<json>(j, "conversation", where);
    if (!turns.is_array() || turns.size() < 2 || turns.size() % 2 != 0)
      throw Error(where + ": 'conversation' must be a list of user / assistant turn pairs");
    for (size_t k = 0; k < turns.size(); ++k) {
      const std::string role = json_value<std::string>(turns[k], "role", where);
      if (role != (k % 2 == 0 ? "user" : "assistant"))
        throw Error(where + ": conversation turn " + std::to_string(k) + " must be the " +
                    (k % 2 == 0 ? "user's" : "assistant's"));
      q.conversation.push_back({role, json_value<std::string>(turns[k], "content", where)});
    }
    return q;
  }
  q.uid = j.value("uid", int64_t{0});
  q.iid = json_value<int64_t>(j, "iid", where);
  q.target = j.value("target", int64_t{0});
  if (j.contains("topk")) q.topk = json_value<std::vector<int64_t>>(j, "topk", where);
  const json& question = j.contains("question") ? j.at("question") : json();
  if (question.is_string())
    q.question = {question.get<std::string>()};
  else if (question.is_array() && !question.empty() &&
           std::all_of(question.begin(), question.end(),
                       [](const json& s) { return s.is_string(); }))
    q.question = question.get<std::vector<std::string>>();
  else
    throw Error(where + ": 'question' must be a string or a list of strings");
  q.answer = json_value<std::string>(j, "answer", where);
  q.score = j.value("score", 0.0);
  const json tmpl = json_value<json>(j, "template", where);
  q.user_template = json_value<std::string>(tmpl, "USER", where + " template");
  return q;
}

std::string AlignQuery::user_text() const {
  return strip_ascii_space(fill_template(user_template, question));
}

std::vector<int64_t> AlignQuery::slot_items() const {
  if (!topk.empty()) return topk;
  if (target > 0) return {target};
  return {iid};
}

std::vector<AlignQuery> read_align_queries(const std::string& path) {
  const json samples = read_json_file(path);
  if (!samples.is_array()) throw file_error(path, "is not a JSON array of alignment samples");
  std::vector<AlignQuery> queries;
  queries.reserve(samples.size());
  for (size_t i = 0; i < samples.size(); ++i)
    queries.push_back(AlignQuery::from_json(samples[i], path + ": sample " + std::to_string(i)));
  return queries;
}

AlignPromptOptions align_prompt_options(const Tokenizer& tokenizer,
                                        const std::string& template_name, int64_t max_length,
                                        int64_t vocab_size) {
  AlignPromptOptions o;
  o.template_name = resolve_chat_template(template_name, tokenizer);
  o.max_length = max_length;
  o.add_bos = tokenizer.adds_bos();
  o.bos_id = tokenizer.bos_id();
  const char* turn_end = o.template_name == "chatml"    ? "<|im_end|>"
                         : o.template_name == "llama-3" ? "<|eot_id|>"
                         : o.template_name == "phi-3"   ? "<|end|>"
                                                        : "";
  const int end = *turn_end ? tokenizer.piece_to_id(turn_end) : -1;
  o.end_id = end >= 0 ? end : tokenizer.eos_id();
  if (o.end_id < 0) throw Error("align: the tokenizer of " + tokenizer.source() + " has no EOS");
  const int64_t base = std::max<int64_t>(vocab_size, tokenizer.vocab_size());
  o.user_id = static_cast<int>(base);
  o.item_id = static_cast<int>(base + 1);
  return o;
}

std::optional<AlignExample> encode_align_prompt(const Tokenizer& tokenizer, const AlignQuery& query,
                                                const AlignPromptOptions& options) {
  const std::string text =
      render_chat(options.template_name, {{"user", query.user_text()}}, true, tokenizer);
  AlignExample example;
  example.ids = encode_with_placeholders(tokenizer, text, {options.user_id, options.item_id},
                                         ItemSlots::numbered);
  // A template that writes BOS itself (llama-2, llama-3) already gave it.
  if (options.add_bos && options.bos_id >= 0 &&
      (example.ids.empty() || example.ids.front() != options.bos_id))
    example.ids.insert(example.ids.begin(), options.bos_id);
  for (int id : example.ids) {
    if (id == options.user_id) example.has_user = true;
    if (id >= options.item_id)
      example.item_slots = std::max<int64_t>(example.item_slots, id - options.item_id + 1);
  }
  example.prompt_length = static_cast<int64_t>(example.ids.size());
  if (example.prompt_length + 1 > options.max_length) return std::nullopt;
  return example;
}

int64_t AlignExample::trained_tokens() const {
  int64_t tokens = 0;
  for (const auto& [begin, end] : answers) tokens += end - begin;
  return tokens;
}

namespace {

// A conversation's ids and answer spans (see the header). The text between turns is what the
// template renders for turns [0, 2k] with the generation prompt beyond its rendering of turns
// [0, 2k), after that rendering's last END text: every template family renders a conversation
// as the extension of its first turns.
std::optional<AlignExample> encode_conversation(const Tokenizer& tokenizer,
                                                const std::vector<ChatMessage>& turns,
                                                const AlignPromptOptions& options) {
  const std::string end_text = tokenizer.id_to_piece(options.end_id);
  AlignExample example;
  std::string rendered;  // turns [0, 2k) as the template writes them
  for (size_t k = 0; k + 1 < turns.size(); k += 2) {
    const std::vector<ChatMessage> head(turns.begin(), turns.begin() + k + 1);
    const std::string opened = render_chat(options.template_name, head, true, tokenizer);
    if (opened.compare(0, rendered.size(), rendered) != 0)
      throw Error("align: the " + options.template_name +
                  " template does not write a conversation as the extension of its first turns");
    const size_t end_at = rendered.rfind(end_text);
    const std::string between =
        (end_at == std::string::npos ? "" : rendered.substr(end_at + end_text.size())) +
        opened.substr(rendered.size());
    std::vector<int> context =
        k == 0 ? encode_chat_prompt(tokenizer, between) : tokenizer.encode(between);
    const int64_t used = static_cast<int64_t>(example.ids.size() + context.size());
    if (used + 1 > options.max_length) {
      if (k == 0) return std::nullopt;
      break;
    }
    example.ids.insert(example.ids.end(), context.begin(), context.end());
    if (k == 0) example.prompt_length = static_cast<int64_t>(example.ids.size());
    const std::vector<int> answer = tokenizer.encode(strip_ascii_space(turns[k + 1].content));
    const int64_t room = options.max_length - used - 1;
    const int64_t kept = std::min<int64_t>(room, static_cast<int64_t>(answer.size()));
    if (k > 0 && kept < static_cast<int64_t>(answer.size())) {
      example.ids.resize(example.ids.size() - context.size());  // only whole later turns
      break;
    }
    example.answer_truncated = kept < static_cast<int64_t>(answer.size());
    example.ids.insert(example.ids.end(), answer.begin(), answer.begin() + kept);
    example.ids.push_back(options.end_id);
    example.answers.emplace_back(used, static_cast<int64_t>(example.ids.size()));
    const std::vector<ChatMessage> done(turns.begin(), turns.begin() + k + 2);
    rendered = render_chat(options.template_name, done, false, tokenizer);
  }
  return example;
}

}  // namespace

std::optional<AlignExample> encode_align_example(const Tokenizer& tokenizer,
                                                 const AlignQuery& query,
                                                 const AlignPromptOptions& options) {
  if (!query.conversation.empty())
    return encode_conversation(tokenizer, query.conversation, options);
  auto example = encode_align_prompt(tokenizer, query, options);
  if (!example) return std::nullopt;
  const std::vector<int> answer = tokenizer.encode(strip_ascii_space(query.answer));
  const int64_t room = options.max_length - example->prompt_length - 1;
  const int64_t kept = std::min<int64_t>(room, static_cast<int64_t>(answer.size()));
  example->answer_truncated = kept < static_cast<int64_t>(answer.size());
  example->ids.insert(example->ids.end(), answer.begin(), answer.begin() + kept);
  example->ids.push_back(options.end_id);
  example->answers = {{example->prompt_length, static_cast<int64_t>(example->ids.size())}};
  return example;
}

}  // namespace gavamoe
