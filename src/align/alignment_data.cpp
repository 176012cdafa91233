// The alignment-task generator (alignment_data.hpp). Shapes: M items (ids 1..M-1), N users.
#include "gavamoe/align/alignment_data.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "gavamoe/align/task_templates.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/strings.hpp"
#include "gavamoe/rec/sampling.hpp"
#include "gavamoe/rec/user_sequences.hpp"

namespace gavamoe {
namespace {

constexpr int B = static_cast<int>(AlignVariant::behaviour);
constexpr int I = static_cast<int>(AlignVariant::intention);
constexpr int H = static_cast<int>(AlignVariant::hybrid);
constexpr const char* kUser = "<user>";
constexpr const char* kItem = "<item>";
// The explanation prompt (explan_data_gen.py), verbatim.
constexpr const char* kExplanationTemplate =
    "The user has the following purchase history: {0} . Will the user like the item: {1} ? "
    "Please give your answer and explain why you make this decision from the perspective of a "
    "recommendation model. Your explanation should include the following aspects: summary of "
    "patterns and traits from user purchase history, the consistency or inconsistency between "
    "user preferences and the item.";

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string text;
  for (size_t k = 0; k < parts.size(); ++k) text += (k ? separator : "") + parts[k];
  return text;
}

// The draws, in the order the generator makes them.
class Draws {
 public:
  explicit Draws(uint64_t seed) : rng_(seed) {}
  const std::string& choice(const std::string& family) {
    const auto& templates = task_templates(family);
    return templates[uniform_below(rng_, templates.size())];
  }
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  template <typename T>
  void shuffle(std::vector<T>& values) {
    for (size_t k = values.size(); k > 1; --k)
      std::swap(values[k - 1], values[uniform_below(rng_, k)]);
  }

 private:
  Rng rng_;
};

class Generator {
 public:
  Generator(const SequenceDataset& data, const LabelFiles& labels, const AlignDataOptions& options)
      : data_(data), labels_(labels), o_(options), draws_(options.seed), sequences_(data) {}

  AlignData run() {
    item_tasks();
    if (o_.pipeline == "sasrec") {
      history_task_sasrec();
      label_tasks_sasrec();
    } else {
      history_task_mf();
      label_tasks_mf();
    }
    explanation_tasks();
    return std::move(out_);
  }

 private:
  const std::string& title(int64_t item) const { return data_.items[item - 1].title; }

  std::vector<std::string> titles(const std::vector<int64_t>& items) const {
    std::vector<std::string> result;
    for (int64_t item : items) result.push_back(title(item));
    return result;
  }

  static constexpr const char* kWhere = "align data (the label files)";
  const std::vector<int64_t>& sequence(int64_t uid) const {
    return sequences_.sequence(uid, kWhere);
  }

  // What the recommender saw for the row: the last max_history items before iid (iid -1: the
  // whole sequence).
  std::vector<int64_t> history(int64_t uid, int64_t iid) const {
    return sequences_.history(uid, iid, o_.max_history, kWhere);
  }

  std::string history_text(int64_t uid, int64_t iid) const {
    return join(titles(history(uid, iid)), "; ");
  }

  static AlignSample sample(const std::string& type, const std::string& user_template, int64_t uid,
                            int64_t iid, std::string answer) {
    AlignSample s;
    s.type = type;
    s.user_template = user_template;
    s.uid = uid;
    s.iid = iid;
    s.answer = std::move(answer);
    return s;
  }

  void add(bool train, AlignSample s) { (train ? out_.train : out_.valid).push_back(std::move(s)); }

  // ---- item tasks (gen_iid2text, then the similar items) ----

  // An item-to-text task: B the title, I <item>, H <item> + title.
  AlignSample item_to_text(const std::string& type, const std::string& user_template, int64_t iid,
                           std::string answer) const {
    AlignSample s = sample(type, user_template, 0, iid, std::move(answer));
    s.question[B] = {title(iid)};
    s.question[I] = {kItem};
    s.question[H] = {kItem + title(iid)};
    return s;
  }

  // iid2title, I and H only: <item> -> title, templates of `family`.
  AlignSample title_sample(const std::string& family, int64_t iid) {
    AlignSample s = sample("iid2title", draws_.choice(family), 0, iid, title(iid));
    s.question[I] = s.question[H] = {kItem};
    return s;
  }

  // A text field both ways, both templates drawn first: `to_text` (B / I / H) and `to_item`
  // (B only: the text -> title).
  void text_tasks(const std::string& to_text, const std::string& to_item, int64_t iid,
                  const std::string& text) {
    const std::string& text_template = draws_.choice(to_text);
    const std::string& item_template = draws_.choice(to_item);
    add(true, item_to_text(to_text, text_template, iid, text));
    AlignSample reverse = sample(to_item, item_template, 0, iid, title(iid));
    reverse.question[B] = {text};
    add(true, reverse);
  }

  void item_tasks() {
    for (int64_t iid = 1; iid < data_.n_items(); ++iid) {
      const ItemInfo& info = data_.items[iid - 1];
      add(false, title_sample("test_iid2title", iid));
      add(true, title_sample("iid2title", iid));

      const std::string features = join(info.features, "; ");
      if (!features.empty()) text_tasks("iid2feature", "feature2iid", iid, features);
      if (!join(info.description, "; ").empty()) {
        // The first entry longer than 50 characters, else the first.
        std::string description = info.description.front();
        for (const std::string& entry : info.description)
          if (entry.size() > 50) {
            description = entry;
            break;
          }
        text_tasks("iid2description", "description2iid", iid, description);
      }
      if (!info.brand.empty())
        add(true, item_to_text("iid2brand", draws_.choice("iid2brand"), iid,
                               replace_all(info.brand, "\n    \n    ", " ")));
    }
    for (int64_t iid = 1; iid < static_cast<int64_t>(labels_.similar.size()); ++iid)
      if (labels_.similar[iid] > 0)
        add(true,
            item_to_text("iid2sim", draws_.choice("iid2sim"), iid, title(labels_.similar[iid])));
  }

  // ---- uid2hist (I and H) ----

  AlignSample history_sample(int64_t uid, int64_t iid) {
    AlignSample s = sample("uid2hist", draws_.choice("uid2hist"), uid, iid, history_text(uid, iid));
    s.question[I] = s.question[H] = {kUser};
    return s;
  }

  // The last max_train_per_user of `count` positions (all of them when the option is 0).
  int64_t first_kept(int64_t count) const {
    return o_.max_train_per_user > 0 ? std::max<int64_t>(0, count - o_.max_train_per_user) : 0;
  }

  void history_task_sasrec() {
    for (size_t u = 0; u < data_.users.size(); ++u) {
      const auto& items = data_.sequences[u];
      const int64_t n = static_cast<int64_t>(items.size()) - 1;  // the items of seq[1:]
      for (int64_t k = 1 + first_kept(n); k < static_cast<int64_t>(items.size()); ++k)
        add(true, history_sample(data_.users[u], items[k]));
    }
    for (int64_t uid : data_.users) add(false, history_sample(uid, -1));
  }

  void history_task_mf() {
    const double split = 0.9 * static_cast<double>(data_.users.size());
    for (size_t u = 0; u < data_.users.size(); ++u) {
      const int64_t uid = data_.users[u];
      const int64_t last = data_.sequences[u].back();
      if (static_cast<double>(uid) > split) {
        add(false, history_sample(uid, last));
      } else {
        for (int copy = 0; copy < 3; ++copy) add(true, history_sample(uid, last));
      }
    }
  }

  // ---- the label tasks (gen_uid2next_rank) ----

  AlignSample next_sample(const LabelRow& row, const std::string& hist) {
    AlignSample s =
        sample("uid2next", draws_.choice("uid2next"), row.uid, row.iid, title(row.top1));
    s.question[B] = {hist};
    s.question[I] = {kUser};
    s.question[H] = {kUser + hist};
    return s;
  }

  // The answer in the model's order; the prompt (and `topk`) in a shuffled one.
  AlignSample rank_sample(const LabelRow& row, const std::string& hist) {
    std::vector<int64_t> topk(row.topk.begin(), row.topk.end());
    AlignSample s = sample("uidiid2rank", draws_.choice("uidiid2rank"), row.uid, row.iid,
                           join(titles(topk), "; "));
    draws_.shuffle(topk);
    std::vector<std::string> tagged;
    for (int64_t item : topk) tagged.push_back(kItem + title(item));
    std::string placeholders;
    for (size_t k = 0; k < topk.size(); ++k) placeholders += kItem;
    s.question[B] = {hist, join(titles(topk), "; ")};
    s.question[I] = {kUser, placeholders};
    s.question[H] = {kUser + hist, join(tagged, "; ")};
    s.topk = topk;
    return s;
  }

  // Two samples: pos -> "Yes", neg -> "No", the templates drawn in that order first.
  void binary_samples(bool train, const LabelRow& row, const std::string& hist) {
    const std::string pos_template = draws_.choice("uidiid2binary");
    const std::string neg_template = draws_.choice("uidiid2binary");
    for (const auto& [target, answer, pattern] :
         {std::tuple{row.pos, "Yes", pos_template}, std::tuple{row.neg, "No", neg_template}}) {
      AlignSample s = sample("uidiid2binary", pattern, row.uid, row.iid, answer);
      s.target = target;
      s.question[B] = {hist, title(target)};
      s.question[I] = {kUser, kItem};
      s.question[H] = {kUser + hist, kItem + title(target)};
      add(train, s);
    }
  }

  // The training rows kept: each user's last max_train_per_user rows, in file order.
  std::vector<LabelRow> kept_training_rows() const {
    const auto& rows = labels_.train_top;
    if (o_.max_train_per_user <= 0) return rows;
    std::map<int64_t, int64_t> remaining;
    for (const LabelRow& row : rows) ++remaining[row.uid];
    std::vector<LabelRow> kept;
    for (const LabelRow& row : rows)
      if (remaining[row.uid]-- <= o_.max_train_per_user) kept.push_back(row);
    return kept;
  }

  // uidiid2explan (explan_data_gen.py): a pos (Yes) and a neg (No) sample per label row, the
  // same prompt text for the three variants. SASRec: valid from test_top.txt until 500
  // samples, train from the train_top.txt rows of each user's second-to-last item until 2000;
  // MF: valid from the rows r = 3 of each user's six, train from r < 3.
  void explanation_tasks() {
    auto add_pair = [&](const LabelRow& row, std::vector<AlignSample>& split) {
      const std::string hist = history_text(row.uid, row.iid);
      for (const auto& [target, score] :
           {std::pair{row.pos, row.pos_score}, std::pair{row.neg, row.neg_score}}) {
        AlignSample s = sample("uidiid2explan", kExplanationTemplate, row.uid, row.iid,
                               target == row.pos ? "Yes" : "No");
        s.target = target;
        s.score = score;
        s.question[B] = {hist, title(target)};
        s.question[I] = {kUser, kItem};
        s.question[H] = {kUser + hist, kItem + title(target)};
        split.push_back(std::move(s));
      }
    };
    if (o_.pipeline == "sasrec") {
      for (const LabelRow& row : labels_.test_top) {
        if (out_.explain_valid.size() >= 500) break;
        add_pair(row, out_.explain_valid);
      }
      for (const LabelRow& row : labels_.train_top) {
        if (out_.explain_train.size() >= 2000) break;
        const auto& items = sequence(row.uid);
        if (items.size() >= 2 && row.iid == items[items.size() - 2])
          add_pair(row, out_.explain_train);
      }
      return;
    }
    for (size_t r = 0; r < labels_.test_top.size(); ++r) {
      if (r % 6 == 3) add_pair(labels_.test_top[r], out_.explain_valid);
      if (r % 6 < 3) add_pair(labels_.test_top[r], out_.explain_train);
    }
  }

  void label_tasks_sasrec() {
    for (const LabelRow& row : kept_training_rows()) {
      const std::string hist = history_text(row.uid, row.iid);
      add(true, next_sample(row, hist));
      add(true, rank_sample(row, hist));
      const auto& items = sequence(row.uid);
      if (items.size() >= 2 && row.iid == items[items.size() - 2]) binary_samples(true, row, hist);
    }
    for (const LabelRow& row : labels_.test_top) {
      const std::string hist = history_text(row.uid, row.iid);
      add(false, next_sample(row, hist));
      add(false, rank_sample(row, hist));
      if (draws_.uniform() < 0.3) binary_samples(false, row, hist);
    }
  }

  void label_tasks_mf() {
    const auto& rows = labels_.test_top;
    if (rows.size() % 6 != 0)
      throw Error(
          "align data: the MF pipeline needs 6 test_top.txt rows per user (`rec label "
          "--times 6`), the file has " +
          std::to_string(rows.size()) + " rows");
    const double split = 0.9 * static_cast<double>(data_.users.size());
    for (size_t idx = 0; idx < rows.size(); ++idx) {
      const LabelRow& row = rows[idx];
      if (row.uid != rows[idx - idx % 6].uid)
        throw Error("align data: test_top.txt row " + std::to_string(idx + 1) +
                    " breaks the groups of 6 rows per user the MF pipeline needs");
      const size_t rank = idx % 6;
      const std::string hist = history_text(row.uid, row.iid);
      if (rank < 5) add(static_cast<double>(row.uid) <= split, next_sample(row, hist));
      add(rank < 5, rank_sample(row, hist));
      if (rank < 3) binary_samples(true, row, hist);
      if (rank == 3 && draws_.uniform() < 0.5) binary_samples(false, row, hist);
    }
  }

  const SequenceDataset& data_;
  const LabelFiles& labels_;
  const AlignDataOptions& o_;
  Draws draws_;
  UserSequences sequences_;
  AlignData out_;
};

}  // namespace

const char* align_variant_name(AlignVariant variant) {
  switch (variant) {
    case AlignVariant::behaviour:
      return "behaviour";
    case AlignVariant::intention:
      return "intention";
    case AlignVariant::hybrid:
      return "hybrid";
  }
  return "?";
}

std::vector<AlignVariant> parse_align_variants(const std::string& name, const std::string& key) {
  if (name == "all")
    return {AlignVariant::behaviour, AlignVariant::intention, AlignVariant::hybrid};
  for (int v = 0; v < kAlignVariants; ++v)
    if (name == align_variant_name(static_cast<AlignVariant>(v)))
      return {static_cast<AlignVariant>(v)};
  throw Error(key + ": '" + name + "' is not behaviour, intention, hybrid or all");
}

nlohmann::json AlignSample::to_json(AlignVariant variant) const {
  nlohmann::json j;
  if (!conversation.empty()) {
    j["type"] = type;
    j["iid"] = 0;
    for (const ChatMessage& m : conversation)
      j["conversation"].push_back({{"role", m.role}, {"content", m.content}});
    return j;
  }
  const auto& slots = question[static_cast<int>(variant)];
  if (uid > 0) j["uid"] = uid;
  j["iid"] = iid;
  if (target > 0) j["target"] = target;
  j["question"] = slots.size() == 1 ? nlohmann::json(slots[0]) : nlohmann::json(slots);
  j["answer"] = answer;
  j["template"] = {{"USER", user_template}, {"ASSISTANT", "{0}"}};
  j["type"] = type;
  if (!topk.empty()) j["topk"] = topk;
  if (type == "uidiid2explan") j["score"] = score;
  return j;
}

LabelFiles read_label_files(const std::string& dir, const SequenceDataset& data) {
  LabelFiles labels;
  labels.train_top = read_label_file(dir + "/train_top.txt", data.n_items());
  labels.test_top = read_label_file(dir + "/test_top.txt", data.n_items());
  labels.similar = read_similar_items(dir + "/sim_item.txt", data.n_items());
  return labels;
}

AlignData make_alignment_data(const SequenceDataset& data, const LabelFiles& labels,
                              const AlignDataOptions& options) {
  if (options.pipeline != "sasrec" && options.pipeline != "mf")
    throw Error("align data: pipeline '" + options.pipeline + "' is not sasrec or mf");
  if (options.max_history < 1) throw Error("align data: max_history must be at least 1");
  if (options.max_train_per_user < 0)
    throw Error("align data: --max-train-per-user must be 0 (all) or more");
  if (!data.has_titles())
    throw file_error(data.path,
                     "every item needs a title in metadata.json for the alignment "
                     "tasks (they name items by title)");
  return Generator(data, labels, options).run();
}

nlohmann::json alignment_counts(const AlignData& data, const std::vector<AlignVariant>& variants) {
  nlohmann::json counts;
  for (const auto& [split, samples] :
       {std::pair{"train", &data.train}, std::pair{"valid", &data.valid},
        std::pair{"explan_train", &data.explain_train},
        std::pair{"explan_valid", &data.explain_valid}})
    for (AlignVariant variant : variants) {
      nlohmann::json& c = counts[split][align_variant_name(variant)] = nlohmann::json::object();
      int64_t total = 0;
      for (const AlignSample& s : *samples)
        if (s.in(variant)) {
          c[s.type] = c.value(s.type, 0) + 1;
          ++total;
        }
      c["total"] = total;
    }
  return counts;
}

void write_alignment_data(const std::string& dir, const AlignData& data,
                          const std::vector<AlignVariant>& variants, nlohmann::json info) {
  info["counts"] = alignment_counts(data, variants);
  write_folder_atomic(dir, [&](const std::filesystem::path& temp) {
    for (AlignVariant variant : variants)
      for (const auto& [split, samples] :
           {std::pair{"train", &data.train}, std::pair{"valid", &data.valid},
            std::pair{"explan_train", &data.explain_train},
            std::pair{"explan_valid", &data.explain_valid}}) {
        nlohmann::json rows = nlohmann::json::array();
        for (const AlignSample& s : *samples)
          if (s.in(variant)) rows.push_back(s.to_json(variant));
        write_file_atomic(
            (temp / (std::string(align_variant_name(variant)) + "_" + split + ".json")).string(),
            rows.dump() + "\n");
      }
    write_file_atomic((temp / "align_data.json").string(), info.dump(2) + "\n");
  });
}

}  // namespace gavamoe
