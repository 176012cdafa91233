// Align data folders, encoded examples with their recommender inputs, and right-padded batches
// (align_batches.hpp).
#include "gavamoe/align/align_batches.hpp"

#include <algorithm>
#include <filesystem>

#include "gavamoe/align/rec_vectors.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kIgnoredTarget = -100;

}  // namespace

AlignDataFolder read_align_data_folder(const std::string& dir, const std::string& variant,
                                       const std::string& rec_run_override) {
  if (!fs::is_directory(dir))
    throw file_error(dir, "is not a folder (align data --out was expected)");
  const std::string info_path = dir + "/align_data.json";
  if (!fs::exists(info_path))
    throw file_error(dir, "is not an align data folder (no align_data.json; see `align data`)");
  const json meta = read_json_file(info_path);
  AlignDataFolder folder;
  folder.dir = dir;
  folder.rec_run = rec_run_override.empty() ? json_value<std::string>(meta, "rec_run", info_path)
                                            : rec_run_override;
  folder.sequences = json_value<std::string>(meta, "data", info_path);
  folder.max_history = meta.value("max_history", int64_t{9});
  folder.pipeline = json_value<std::string>(meta, "pipeline", info_path);
  const std::string files = variant == "none" ? "behaviour" : variant;
  folder.train = dir + "/" + files + "_train.json";
  folder.valid = dir + "/" + files + "_valid.json";
  for (const std::string& path : {folder.train, folder.valid})
    if (!fs::exists(path))
      throw file_error(dir, "has no " + fs::path(path).filename().string() +
                                " (build it with `align data --variant " + files + "`)");
  return folder;
}

void check_pipeline(const AlignDataFolder& folder, const std::string& rec_kind) {
  if (folder.pipeline != rec_kind)
    throw file_error(folder.rec_run, "is a " + rec_kind + " run; the samples in " + folder.dir +
                                         " were built for a " + folder.pipeline + " recommender");
}

AlignSession open_align_session(const std::string& run_dir, torch::Device device) {
  AlignSession s;
  s.run = load_align_run(run_dir, device);
  const AlignRunInfo& info = s.run.info;
  s.folder = read_align_data_folder(info.data, info.options.variant, info.rec_run);
  s.rec = load_rec_run(s.folder.rec_run, device);
  check_pipeline(s.folder, s.rec.model);
  s.data = read_sequence_folder(s.folder.sequences);
  s.prompt = align_prompt_options(*s.run.tokenizer, info.template_name, info.max_length,
                                  s.run.model->llama->config.vocab_size);
  s.prompt.user_id = info.user_id;
  s.prompt.item_id = info.item_id;
  return s;
}

AlignExamples encode_align_examples(const Tokenizer& tokenizer,
                                    const std::vector<AlignQuery>& queries,
                                    const AlignPromptOptions& prompt, Recommender& recommender,
                                    const SequenceDataset& data, const std::string& source,
                                    bool with_answer) {
  AlignExamples out;
  out.pad_id = prompt.end_id;
  std::vector<AlignQuery> with_user;
  std::vector<int64_t> user_rows;
  for (size_t q = 0; q < queries.size(); ++q) {
    auto example = with_answer ? encode_align_example(tokenizer, queries[q], prompt)
                               : encode_align_prompt(tokenizer, queries[q], prompt);
    if (!example) {
      ++out.skipped;
      continue;
    }
    std::vector<int64_t> items = queries[q].slot_items();
    if (example->item_slots > static_cast<int64_t>(items.size()))
      throw Error(source + ": sample " + std::to_string(q) + " has " +
                  std::to_string(example->item_slots) + " <item> slots and " +
                  std::to_string(items.size()) + " items for them");
    for (int64_t item : items)
      if (example->item_slots > 0 && (item < 1 || item >= recommender.n_items()))
        throw Error(source + ": sample " + std::to_string(q) + " names item " +
                    std::to_string(item) + ", which the recommender does not have");
    items.resize(example->item_slots);
    if (example->has_user) {
      with_user.push_back(queries[q]);
      user_rows.push_back(static_cast<int64_t>(out.examples.size()));
    }
    out.examples.push_back(std::move(*example));
    out.query.push_back(static_cast<int64_t>(q));
    out.slot_items.push_back(std::move(items));
  }
  const RecVectors vectors = rec_vectors(recommender, data, with_user, source);
  out.item_table = vectors.items;
  out.users = torch::zeros({static_cast<int64_t>(out.examples.size()), recommender.dim()});
  if (!user_rows.empty())
    out.users.index_copy_(0, torch::tensor(user_rows, torch::kLong), vectors.users);
  return out;
}

SurrogateBatch make_surrogate_batch(const AlignExamples& examples,
                                    const std::vector<int64_t>& rows) {
  const int64_t b = static_cast<int64_t>(rows.size());
  size_t longest = 0, slots = 0;
  bool any_user = false;
  for (int64_t r : rows) {
    longest = std::max(longest, examples.examples[r].ids.size());
    slots = std::max(slots, examples.slot_items[r].size());
    any_user = any_user || examples.examples[r].has_user;
  }
  const int64_t t = static_cast<int64_t>(longest);
  SurrogateBatch batch;
  batch.ids = torch::full({b, t}, examples.pad_id, torch::kLong);
  batch.valid = torch::zeros({b, t}, torch::kBool);
  batch.targets = torch::full({b, t}, kIgnoredTarget, torch::kLong);
  auto ids = batch.ids.accessor<int64_t, 2>();
  auto valid = batch.valid.accessor<bool, 2>();
  auto targets = batch.targets.accessor<int64_t, 2>();
  std::vector<int64_t> slot_ids(b * slots, 0);
  for (int64_t i = 0; i < b; ++i) {
    const AlignExample& e = examples.examples[rows[i]];
    const int64_t n = static_cast<int64_t>(e.ids.size());
    for (int64_t p = 0; p < n; ++p) {
      ids[i][p] = e.ids[p];
      valid[i][p] = true;
    }
    // Position p predicts token p + 1: the answers and their end tokens are the targets.
    for (const auto& [begin, end] : e.answers)
      for (int64_t p = begin - 1; p + 1 < end; ++p) targets[i][p] = e.ids[p + 1];
    const auto& items = examples.slot_items[rows[i]];
    std::copy(items.begin(), items.end(), slot_ids.begin() + i * slots);
  }
  const torch::Tensor index = torch::tensor(rows, torch::kLong);
  if (any_user) batch.users = examples.users.index_select(0, index);
  if (slots > 0)
    batch.items = examples.item_table.index_select(0, torch::tensor(slot_ids, torch::kLong))
                      .view({b, static_cast<int64_t>(slots), -1});
  return batch;
}

Placeholders batch_placeholders(Surrogate& model, const AlignExamples& examples,
                                const std::vector<int64_t>& rows) {
  const SurrogateBatch batch = make_surrogate_batch(examples, rows);
  return model->placeholders(batch.users, batch.items);
}

}  // namespace gavamoe
