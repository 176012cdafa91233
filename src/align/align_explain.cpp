// Explanations of a surrogate run (align_explain.hpp).
#include "gavamoe/align/align_explain.hpp"

#include <algorithm>
#include <filesystem>

#include "gavamoe/align/align_batches.hpp"
#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/align/rec_vectors.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/core/strings.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/infer/prediction_writer.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/train/device.hpp"

namespace gavamoe {

int64_t explain_alignment(const std::string& run_dir, const std::string& out,
                          const AlignExplainOptions& o) {
  if (o.split != "valid" && o.split != "train" && o.split != "both")
    throw Error("align explain: --split must be valid, train or both, got '" + o.split + "'");
  if (o.batch_size < 1) throw Error("align explain: --batch-size must be at least 1");
  if (o.min_new_tokens > o.max_new_tokens)
    throw Error("align explain: --min-new-tokens is more than --max-new-tokens");
  const PredictionFormat format = prediction_format_for(out);
  const torch::Device device = resolve_device(o.device, "--device");
  AlignSession session = open_align_session(run_dir, device);
  AlignRun& run = session.run;
  const AlignDataFolder& folder = session.folder;
  const SequenceDataset& data = session.data;

  std::vector<std::pair<std::string, std::string>> files;  // (split, path)
  const std::string variant =
      run.info.options.variant == "none" ? "behaviour" : run.info.options.variant;
  for (const char* split : {"train", "valid"})
    if (o.split == "both" || o.split == split)
      files.emplace_back(split, folder.dir + "/" + variant + "_explan_" + split + ".json");
  std::vector<AlignQuery> queries;
  std::vector<std::string> splits;
  for (const auto& [split, path] : files) {
    if (!std::filesystem::exists(path))
      throw file_error(folder.dir, "has no " + std::filesystem::path(path).filename().string() +
                                       " (made by `align data` of this version; run it again)");
    auto read = read_align_queries(path);
    if (o.max_samples > 0 && static_cast<int64_t>(read.size()) > o.max_samples)
      read.resize(o.max_samples);
    for (auto& q : read) {
      queries.push_back(std::move(q));
      splits.push_back(split);
    }
  }
  const AlignExamples examples = encode_align_examples(
      *run.tokenizer, queries, session.prompt, *session.rec.recommender, data, folder.dir, false);
  if (examples.skipped > 0)
    log::warn("align explain: %lld prompt(s) longer than max_length %lld are left out",
              static_cast<long long>(examples.skipped),
              static_cast<long long>(run.info.max_length));

  GenerationOptions g = answer_generation_options(*run.tokenizer);
  g.max_new_tokens = o.max_new_tokens;
  g.min_new_tokens = o.min_new_tokens;
  const auto histories = query_histories(data, queries, folder.max_history, folder.dir);
  Table table;
  table.columns = {"split", "label", "history",   "target", "answer",
                   "uid",   "iid",   "target_id", "score"};
  const int64_t n = static_cast<int64_t>(examples.examples.size());
  Progress progress("align explain", n, "explanation");
  for (int64_t begin = 0; begin < n; begin += o.batch_size) {
    std::vector<int64_t> rows;
    for (int64_t r = begin; r < std::min(n, begin + o.batch_size); ++r) rows.push_back(r);
    std::vector<std::vector<int>> prompts;
    for (int64_t r : rows) prompts.push_back(examples.examples[r].ids);
    const GenerationResult result =
        generate(run.model->llama, prompts, g, {}, batch_placeholders(run.model, examples, rows));
    for (size_t i = 0; i < rows.size(); ++i) {
      const int64_t q = examples.query[rows[i]];
      const AlignQuery& query = queries[q];
      std::vector<int> tokens = result.tokens[i];
      if (!tokens.empty() && std::find(g.stop_tokens.begin(), g.stop_tokens.end(), tokens.back()) !=
                                 g.stop_tokens.end())
        tokens.pop_back();
      std::string history;
      for (int64_t item : histories[q])
        history += (history.empty() ? "" : "; ") + data.item_label(item);
      table.rows.push_back({splits[q], query.answer, history, data.item_label(query.target),
                            strip_ascii_space(run.tokenizer->decode(tokens, true)), query.uid,
                            query.iid, query.target, query.score});
    }
    progress.update(rows.back() + 1);
  }
  progress.finish();
  write_table(out, table, format, "explanations");
  return n;
}

}  // namespace gavamoe
