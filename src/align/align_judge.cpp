// Offline judges of explanations (align_judge.hpp).
#include "gavamoe/align/align_judge.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/align/explanation_judge.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/csv.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/core/strings.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "gavamoe/train/device.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// One explained row, its label and history parsed once for every judge.
struct ExplanationRow {
  std::string split, target, answer;
  bool label_yes = false;                   // the recommender's label is "yes"
  std::vector<std::string> history_titles;  // the history's titles, in order
  double score = 0;
};

// The rows of an align explain file (jsonl or csv, by extension); errors name the file and row.
std::vector<ExplanationRow> read_explanations(const std::string& path) {
  if (!std::filesystem::exists(path)) throw file_error(path, "does not exist");
  const std::string text = read_file(path);
  const std::vector<std::string> columns = {"split",  "label",  "history",
                                            "target", "answer", "score"};
  std::vector<ExplanationRow> rows;
  auto make = [&](auto field, const std::string& where) {
    ExplanationRow row;
    row.split = field("split");
    row.label_yes = normalise_answer(field("label")) == "yes";
    row.history_titles = split_text(field("history"), "; ");
    row.target = field("target");
    row.answer = field("answer");
    try {
      row.score = std::stod(field("score"));
    } catch (const std::exception&) {
      throw file_error(path, where, "score is not a number");
    }
    if (row.split != "train" && row.split != "valid")
      throw file_error(path, where, "split must be train or valid");
    return row;
  };
  if (std::filesystem::path(path).extension() == ".csv") {
    const auto table = parse_csv(text, path);
    if (table.empty()) throw file_error(path, "is empty (no header)");
    std::map<std::string, size_t> at;
    for (size_t c = 0; c < table[0].fields.size(); ++c) at[table[0].fields[c]] = c;
    for (const auto& name : columns)
      if (!at.count(name)) throw file_error(path, "has no column '" + name + "' (align explain)");
    for (size_t r = 1; r < table.size(); ++r) {
      const std::string where = "line " + std::to_string(table[r].line);
      rows.push_back(make(
          [&](const std::string& name) {
            const size_t c = at.at(name);
            if (c >= table[r].fields.size()) throw file_error(path, where, "too few fields");
            return table[r].fields[c];
          },
          where));
    }
    return rows;
  }
  int64_t number = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    ++number;
    if (strip_ascii_space(line).empty()) continue;
    const std::string where = "line " + std::to_string(number);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception&) {
      throw file_error(path, where, "is not JSON");
    }
    rows.push_back(make(
        [&](const std::string& name) {
          if (!j.contains(name)) throw file_error(path, where, "has no '" + name + "'");
          const json& v = j.at(name);
          return v.is_string() ? v.get<std::string>() : v.dump();
        },
        where));
  }
  return rows;
}

// The judge model of JudgeModelOptions, loaded once for every explainer.
class ModelJudge {
 public:
  explicit ModelJudge(const JudgeModelOptions& options)
      : o_(options),
        judge_(load_pretrained(options.model, torch::kFloat32,
                               resolve_device(options.device, "--device"))),
        template_(resolve_chat_template("auto", *judge_.tokenizer)),
        generation_(answer_generation_options(*judge_.tokenizer)) {
    generation_.max_new_tokens = o_.max_new_tokens;
  }

  // The grades of the valid rows of one explainer's file (the first max_rows of them).
  json grade(const std::string& name, const std::vector<ExplanationRow>& rows) {
    std::vector<const ExplanationRow*> judged;
    for (const auto& row : rows)
      if (row.split == "valid" &&
          (o_.max_rows <= 0 || static_cast<int64_t>(judged.size()) < o_.max_rows))
        judged.push_back(&row);
    std::map<std::string, int64_t> strict = {{"A", 0}, {"B", 0}, {"C", 0}, {"D", 0}, {"none", 0}};
    std::map<std::string, int64_t> lenient = strict;
    // Every prompt is encoded and checked against the judge's context before any is answered.
    std::vector<std::vector<int>> prompts;
    const int64_t context = judge_.config.max_position_embeddings;
    for (const ExplanationRow* row : judged) {
      const std::string prompt =
          judge_prompt(row->history_titles, row->target, row->label_yes, row->answer);
      prompts.push_back(encode_chat_prompt(
          *judge_.tokenizer, render_chat(template_, {{"user", prompt}}, true, *judge_.tokenizer)));
      const auto length = static_cast<int64_t>(prompts.back().size());
      if (length + o_.max_new_tokens > context)
        throw Error("align judge: the judge prompt of valid row " + std::to_string(prompts.size()) +
                    " of " + name + " is " + std::to_string(length) +
                    " tokens, with --judge-max-new-tokens " + std::to_string(o_.max_new_tokens) +
                    " more than the " + std::to_string(context) + " positions of the judge model " +
                    judge_.path);
    }
    json replies = json::array();
    double grade_sum = 0;
    const auto n = static_cast<int64_t>(judged.size());
    Progress progress("align judge " + name, n, "explanation");
    for (int64_t begin = 0; begin < n; begin += o_.batch_size) {
      const int64_t end = std::min(n, begin + o_.batch_size);
      const std::vector<std::vector<int>> batch(prompts.begin() + begin, prompts.begin() + end);
      const GenerationResult result = generate(judge_.model, batch, generation_);
      for (int64_t r = begin; r < end; ++r) {
        std::vector<int> tokens = result.tokens[r - begin];
        const auto& stops = generation_.stop_tokens;
        if (!tokens.empty() && std::find(stops.begin(), stops.end(), tokens.back()) != stops.end())
          tokens.pop_back();
        const std::string reply = judge_.tokenizer->decode(tokens, true);
        const char exact = judge_grade(reply), loose = judge_grade(reply, true);
        ++strict[exact ? std::string(1, exact) : "none"];
        ++lenient[loose ? std::string(1, loose) : "none"];
        if (loose) grade_sum += loose - 'A';
        replies.push_back(reply);
      }
      progress.update(end);
    }
    progress.finish();
    const int64_t graded = n - lenient.at("none");
    return {{"model", judge_.path},
            {"rows", n},
            {"max_new_tokens", o_.max_new_tokens},
            {"grades", strict},
            {"grades_lenient", lenient},
            {"mean_grade", graded > 0 ? json(grade_sum / static_cast<double>(graded)) : json()},
            {"replies", replies}};
  }

 private:
  JudgeModelOptions o_;
  PretrainedModel judge_;
  std::string template_;
  GenerationOptions generation_;
};

}  // namespace

SparseRow encode_text(Llama& encoder, const Tokenizer& tokenizer, const std::string& text,
                      int64_t max_tokens) {
  std::vector<int> ids = tokenizer.encode(text);
  if (static_cast<int64_t>(ids.size()) > max_tokens) ids.resize(max_tokens);
  if (ids.empty()) ids.push_back(tokenizer.eos_id());
  torch::NoGradGuard no_grad;
  const auto device = encoder->embed_tokens->weight.device();
  const torch::Tensor input =
      torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kLong)
          .unsqueeze(0)
          .to(device);
  const torch::Tensor positions = torch::arange(input.size(1), input.options()).unsqueeze(0);
  const torch::Tensor mean = encoder->hidden(encoder->embed(input), positions)
                                 .mean(1)
                                 .squeeze(0)
                                 .to(torch::kCPU, torch::kDouble)
                                 .contiguous();
  const double norm = mean.norm().item<double>();
  const auto values = mean.accessor<double, 1>();
  SparseRow row;
  for (int64_t c = 0; c < mean.size(0); ++c)
    row.emplace_back(static_cast<int32_t>(c), norm > 0 ? values[c] / norm : 0.0);
  return row;
}

json judge_explanations(const std::vector<JudgedExplainer>& explainers,
                        const std::string& catalogue_dir, const JudgeModelOptions& judge,
                        const TextEncoderOptions& encoder) {
  if (explainers.empty()) throw Error("align judge: no explanation files given");
  const SequenceDataset data = read_sequence_folder(catalogue_dir);
  std::vector<std::string> catalogue;
  for (int64_t item = 1; item < data.n_items(); ++item) catalogue.push_back(data.item_label(item));
  const TitleMatcher matcher(catalogue);
  std::vector<std::vector<ExplanationRow>> all;
  for (const auto& e : explainers) all.push_back(read_explanations(e.path));
  if (!encoder.model.empty() && encoder.max_tokens < 1)
    throw Error("align judge: --encoder-max-tokens must be at least 1");
  std::optional<ModelJudge> model_judge;
  if (!judge.model.empty()) {
    if (judge.max_new_tokens < 1)
      throw Error("align judge: --judge-max-new-tokens must be at least 1");
    if (judge.batch_size < 1) throw Error("align judge: --batch-size must be at least 1");
    model_judge.emplace(judge);
  }

  json judged = json::object();
  for (size_t k = 0; k < explainers.size(); ++k) {
    const JudgedExplainer& e = explainers[k];
    int64_t valid = 0, grade_a = 0, target = 0;
    double history_share = 0, hallucination = 0;
    std::map<std::string, int64_t> decisions;
    for (const auto& row : all[k]) {
      if (row.split != "valid") continue;
      ++valid;
      const ExplanationDecision decision = explanation_decision(row.answer);
      ++decisions[explanation_decision_name(decision)];
      grade_a += rule_grade_a(decision, row.label_yes);
      const Grounding g = grounding(matcher, row.answer, row.history_titles, row.target);
      history_share += g.history_share;
      hallucination += g.hallucination_rate;
      target += g.target_mentioned;
    }
    if (valid == 0) throw file_error(e.path, "has no valid rows to judge");
    const double n = static_cast<double>(valid);
    judged[e.name] = {{"file", e.path},
                      {"rows", valid},
                      {"decisions", decisions},
                      {"grade_a_rate", grade_a / n},
                      {"history_share", history_share / n},
                      {"target_mentioned", target / n},
                      {"hallucination_rate", hallucination / n}};
    if (model_judge) judged[e.name]["judge_model"] = model_judge->grade(e.name, all[k]);
  }

  // The discriminators: the same number of train and of valid rows for every explainer.
  json discriminators = nullptr, encoder_discriminators = nullptr;
  size_t train = SIZE_MAX, valid = SIZE_MAX;
  for (const auto& rows : all) {
    const auto count = [&](const char* split) {
      return static_cast<size_t>(
          std::count_if(rows.begin(), rows.end(), [&](const auto& r) { return r.split == split; }));
    };
    train = std::min(train, count("train"));
    valid = std::min(valid, count("valid"));
  }
  if (explainers.size() >= 2 && train > 0 && valid > 0) {
    std::vector<ExplainerTexts> texts;
    for (size_t k = 0; k < explainers.size(); ++k) {
      ExplainerTexts t;
      t.name = explainers[k].name;
      for (const char* split : {"train", "valid"}) {
        size_t taken = 0;
        const size_t wanted = std::string(split) == "train" ? train : valid;
        for (const auto& row : all[k])
          if (row.split == split && taken < wanted) {
            t.texts.push_back(row.answer);
            t.scores.push_back(row.score);
            ++taken;
          }
      }
      texts.push_back(std::move(t));
    }
    DiscriminatorOptions options;
    options.n_train = train;
    options.n_test = valid;
    discriminators = run_discriminators(texts, options).to_json();
    if (!encoder.model.empty()) {
      PretrainedModel model = load_pretrained(encoder.model, torch::kFloat32,
                                              resolve_device(encoder.device, "--device"));
      size_t rows = 0;
      for (const auto& t : texts) rows += t.texts.size();
      Progress progress("align judge encoder", static_cast<int64_t>(rows), "text");
      size_t done = 0;
      for (auto& t : texts)
        for (const std::string& text : t.texts) {
          t.features.push_back(
              encode_text(model.model, *model.tokenizer, text, encoder.max_tokens));
          progress.update(static_cast<int64_t>(++done));
        }
      progress.finish();
      encoder_discriminators = run_discriminators(texts, options).to_json();
      encoder_discriminators["encoder"] = {{"model", model.path},
                                           {"max_tokens", encoder.max_tokens}};
    }
  }
  return {{"catalogue", catalogue_dir},
          {"explainers", judged},
          {"discriminators", discriminators},
          {"encoder_discriminators", encoder_discriminators},
          {"discriminator_rows",
           {{"train", train == SIZE_MAX ? 0 : train}, {"valid", valid == SIZE_MAX ? 0 : valid}}}};
}

}  // namespace gavamoe
