// Alignment metrics of a surrogate run (align_eval.hpp). Shapes: B samples, T tokens, V vocabulary.
#include "gavamoe/align/align_eval.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>

#include "gavamoe/align/align_batches.hpp"
#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/align/surrogate.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/train/device.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

struct TaskDecoding {
  int64_t beams = 1;
  int64_t max_new_tokens = 0;  // 0: no generation (uidiid2binary)
};

TaskDecoding task_decoding(const std::string& task) {
  if (task == "uid2next") return {5, 150};
  if (task == "uidiid2rank") return {1, 500};
  if (task == "uidiid2binary") return {1, 0};
  if (task == "iid2title") return {1, 200};
  return {1, 500};  // uid2hist
}

// The first token of `word` in the model's tokenizer (the id the original compares).
int first_token(const Tokenizer& tokenizer, const std::string& word) {
  const std::vector<int> ids = tokenizer.encode(word);
  if (ids.empty()) throw Error("align eval: the tokenizer encodes \"" + word + "\" as nothing");
  return ids.front();
}

// The evaluation of one run: the model, its samples and the decoding settings.
class AlignEvaluator {
 public:
  AlignEvaluator(AlignRun& run, AlignExamples examples, std::vector<AlignQuery> queries,
                 const AlignEvalOptions& options)
      : run_(run), examples_(std::move(examples)), queries_(std::move(queries)), o_(options) {
    const Tokenizer& tokenizer = *run_.tokenizer;
    const GenerationOptions answer = answer_generation_options(tokenizer);
    stop_ = answer.stop_tokens;
    banned_ = answer.banned_tokens;
    for (int id : stop_) end_markers_.push_back(tokenizer.id_to_piece(id));
    yes_ = first_token(tokenizer, "Yes");
    no_ = first_token(tokenizer, "No");
  }

  // Scores the examples `rows` of `task` into `means` and `lines`.
  void score(const std::string& task, const std::vector<int64_t>& rows, AlignMetricMeans& means,
             std::vector<json>& lines) {
    const TaskDecoding decoding = task_decoding(task);
    Progress progress("align eval " + task, static_cast<int64_t>(rows.size()), "sample");
    for (size_t begin = 0; begin < rows.size(); begin += o_.batch_size) {
      const size_t end = std::min(rows.size(), begin + o_.batch_size);
      const std::vector<int64_t> batch(rows.begin() + begin, rows.begin() + end);
      if (decoding.max_new_tokens == 0) {
        score_binary(batch, means, lines);
        progress.update(static_cast<int64_t>(end));
        continue;
      }
      const auto predictions = generate_answers(batch, decoding);
      for (size_t i = 0; i < batch.size(); ++i) {
        const AlignQuery& q = queries_[examples_.query[batch[i]]];
        std::map<std::string, double> metrics;
        json line = {{"task", task}, {"uid", q.uid}, {"iid", q.iid}, {"answer", q.answer}};
        if (task == "uid2next") {
          const HitNdcg m = next_item_hit_ndcg(predictions[i], q.answer);
          metrics = {{"hr@5", m.hit}, {"ndcg@5", m.ndcg}};
          line["predictions"] = predictions[i];
        } else {
          const std::string& p = predictions[i].front();
          if (task == "uidiid2rank")
            metrics = {{"ndcg@5", rank_ndcg(p, split_text(q.answer, "; "))}};
          else if (task == "uid2hist")
            metrics = {{"coverage", history_coverage(p, split_text(q.answer, "; "))}};
          else
            metrics = {{"accuracy", title_accuracy(p, q.answer)}};
          line["prediction"] = p;
        }
        line["metrics"] = metrics;
        means.add(task, metrics);
        lines.push_back(std::move(line));
      }
      progress.update(static_cast<int64_t>(end));
    }
    progress.finish();
  }

 private:
  // The answers of each row: the returned beams, or the one greedy answer.
  std::vector<std::vector<std::string>> generate_answers(const std::vector<int64_t>& rows,
                                                         const TaskDecoding& decoding) {
    GenerationOptions g;
    g.max_new_tokens = o_.max_new_tokens > 0 ? std::min(o_.max_new_tokens, decoding.max_new_tokens)
                                             : decoding.max_new_tokens;
    g.stop_tokens = stop_;
    g.banned_tokens = banned_;
    g.num_beams = decoding.beams;
    g.num_return_sequences = decoding.beams;
    std::vector<std::vector<int>> prompts;
    for (int64_t r : rows) prompts.push_back(examples_.examples[r].ids);
    const Placeholders placeholders = batch_placeholders(run_.model, examples_, rows);
    const GenerationResult result = generate(run_.model->llama, prompts, g, {}, placeholders);
    std::vector<std::vector<std::string>> answers(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& hypotheses = result.hypotheses.empty()
                                   ? std::vector<std::vector<int>>{result.tokens[i]}
                                   : result.hypotheses[i];
      for (const auto& tokens : hypotheses)
        answers[i].push_back(generated_answer(run_.tokenizer->decode(tokens), end_markers_));
    }
    return answers;
  }

  void score_binary(const std::vector<int64_t>& rows, AlignMetricMeans& means,
                    std::vector<json>& lines) {
    c10::InferenceMode inference;
    const SurrogateBatch batch = make_surrogate_batch(examples_, rows);
    const torch::Tensor hidden = run_.model->hidden(batch);  // [B, T, C]
    std::vector<int64_t> last;
    for (int64_t r : rows) last.push_back(examples_.examples[r].prompt_length - 1);
    const torch::Tensor at = torch::tensor(last, torch::kLong).to(hidden.device());
    const torch::Tensor h = hidden.index({torch::arange(hidden.size(0), at.options()), at});
    const torch::Tensor logits = run_.model->llama->head(h).to(torch::kFloat32).cpu();  // [B, V]
    for (size_t i = 0; i < rows.size(); ++i) {
      const AlignQuery& q = queries_[examples_.query[rows[i]]];
      const double yes = logits[i][yes_].item<double>(), no = logits[i][no_].item<double>();
      const bool label_yes = normalise_answer(q.answer) == "yes";
      const double correct = binary_correct(yes, no, label_yes);
      means.add("uidiid2binary", {{"accuracy", correct}});
      lines.push_back({{"task", "uidiid2binary"},
                       {"uid", q.uid},
                       {"iid", q.iid},
                       {"target", q.target},
                       {"answer", q.answer},
                       {"logit_yes", yes},
                       {"logit_no", no},
                       {"metrics", {{"accuracy", correct}}}});
    }
  }

  AlignRun& run_;
  AlignExamples examples_;
  std::vector<AlignQuery> queries_;
  const AlignEvalOptions& o_;
  std::vector<int> stop_, banned_;
  std::vector<std::string> end_markers_;
  int yes_ = -1, no_ = -1;
};

json chance_levels(int64_t n_items) {
  const HitNdcg next = random_next_item_hit_ndcg(n_items);
  return {{"uid2next", {{"hr@5", next.hit}, {"ndcg@5", next.ndcg}}},
          {"uidiid2rank", {{"ndcg@5", random_rank_ndcg()}}},
          {"uidiid2binary", {{"accuracy", kRandomBinaryAccuracy}}}};
}

}  // namespace

const std::vector<std::string>& align_eval_tasks() {
  static const std::vector<std::string> tasks = AlignEvalOptions().tasks;
  return tasks;
}

json evaluate_alignment(const std::string& run_dir, const AlignEvalOptions& options) {
  for (const auto& task : options.tasks)
    if (std::find(align_eval_tasks().begin(), align_eval_tasks().end(), task) ==
        align_eval_tasks().end())
      throw Error("align eval: unknown task '" + task +
                  "' (tasks: uid2next, uidiid2rank, uidiid2binary, iid2title, uid2hist)");
  if (options.batch_size < 1) throw Error("align eval: --batch-size must be at least 1");
  const auto started = std::chrono::steady_clock::now();
  const torch::Device device = resolve_device(options.device, "--device");
  AlignSession session = open_align_session(run_dir, device);
  AlignRun& run = session.run;
  const AlignDataFolder& folder = session.folder;
  const SequenceDataset& data = session.data;

  // The first max_samples samples of each task, tasks in the order asked.
  const std::vector<AlignQuery> all = read_align_queries(folder.valid);
  std::vector<AlignQuery> queries;
  std::map<std::string, int64_t> taken;
  for (const auto& q : all) {
    if (std::find(options.tasks.begin(), options.tasks.end(), q.type) == options.tasks.end())
      continue;
    if (options.max_samples > 0 && taken[q.type] >= options.max_samples) continue;
    ++taken[q.type];
    queries.push_back(q);
  }
  AlignExamples examples = encode_align_examples(
      *run.tokenizer, queries, session.prompt, *session.rec.recommender, data, folder.valid, false);
  std::map<std::string, std::vector<int64_t>> rows_of_task;
  for (size_t e = 0; e < examples.examples.size(); ++e)
    rows_of_task[queries[examples.query[e]].type].push_back(static_cast<int64_t>(e));
  const int64_t skipped = examples.skipped;

  AlignEvaluator evaluator(run, std::move(examples), queries, options);
  AlignMetricMeans means;
  std::vector<json> lines;
  for (const auto& task : options.tasks) {
    const auto& rows = rows_of_task[task];
    if (rows.empty()) continue;
    const auto task_started = std::chrono::steady_clock::now();
    evaluator.score(task, rows, means, lines);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - task_started).count();
    log::info("align eval %s: %zu samples in %.1f s", task.c_str(), rows.size(), seconds);
  }
  json result = {
      {"variant", run.info.options.variant},
      {"run", run_dir},
      {"samples_file", folder.valid},
      {"max_samples", options.max_samples},
      {"skipped_too_long", skipped},
      {"tasks", means.to_json()},
      {"chance", chance_levels(data.n_items() - 1)},
      {"seconds",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
  std::string predictions;
  for (const auto& line : lines) predictions += line.dump() + "\n";
  write_file_atomic(run_dir + "/align_eval_predictions.jsonl", predictions);
  write_file_atomic(run_dir + "/align_eval.json", result.dump(2) + "\n");
  return result;
}

}  // namespace gavamoe
