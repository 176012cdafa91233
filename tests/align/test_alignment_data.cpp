// align data: the task templates against the original's counts, the label-file reader, and the
// generator's rules (counts per task and split, B / I / H fill-in, ranking shuffle with the
// answer in model order, binary Yes/No, uid2hist histories, MF pipeline, subsampling,
// determinism) on hand-made sequences and labels; then the command end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "gavamoe/align/alignment_data.hpp"
#include "gavamoe/align/task_templates.hpp"
#include "gavamoe/core/error.hpp"
#include "rec/rec_fixtures.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kItems = 13;  // ids 1..12

// Users 1..4; user 3 repeats item 1, user 4 has 12 items (longer than max_history 9).
SequenceDataset sequences() {
  return test::make_sequences(
      {{1, 2, 3, 4, 5}, {2, 3, 4, 1, 6}, {1, 2, 1, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
      kItems);
}

LabelRow row(int64_t uid, int64_t iid) {
  LabelRow r;
  r.uid = uid;
  r.iid = iid;
  r.top1 = iid % 12 + 1;
  r.topk = {7, 8, 9, 10, 11};
  r.pos = 12;
  r.neg = 6;
  r.pos_score = 2.5f;
  r.neg_score = -1.25f;
  return r;
}

// RecAI's rows: train items[1:-1] of each user, test items[-1] (`times` rows each).
LabelFiles labels(const SequenceDataset& data, int times = 1) {
  LabelFiles files;
  for (size_t u = 0; u < data.users.size(); ++u) {
    const auto& items = data.sequences[u];
    for (size_t k = 1; k + 1 < items.size(); ++k)
      files.train_top.push_back(row(data.users[u], items[k]));
    for (int t = 0; t < times; ++t) files.test_top.push_back(row(data.users[u], items.back()));
  }
  files.similar.assign(kItems, 0);
  for (int64_t i = 1; i < kItems; ++i) files.similar[i] = i % 12 + 1;
  return files;
}

std::map<std::string, int64_t> count(const std::vector<AlignSample>& samples,
                                     AlignVariant variant) {
  std::map<std::string, int64_t> counts;
  for (const auto& s : samples)
    if (s.in(variant)) ++counts[s.type];
  return counts;
}

std::string title(int64_t item) { return "Item " + std::to_string(item); }

TEST(TaskTemplates, CountsAreTheOriginals) {
  const std::map<std::string, size_t> expected = {
      {"test_iid2title", 8}, {"iid2title", 11}, {"iid2feature", 10}, {"iid2description", 10},
      {"iid2brand", 10},     {"iid2sim", 9},    {"feature2iid", 10}, {"description2iid", 10},
      {"uid2hist", 11},      {"uid2next", 13},  {"uidiid2rank", 13}, {"uidiid2binary", 13}};
  EXPECT_EQ(task_template_families().size(), expected.size());
  for (const auto& [family, n] : expected) {
    const auto& templates = task_templates(family);
    EXPECT_EQ(templates.size(), n) << family;
    EXPECT_EQ(std::set<std::string>(templates.begin(), templates.end()).size(), n) << family;
    const bool two_slots = family == "uidiid2rank" || family == "uidiid2binary";
    for (const auto& t : templates) {
      EXPECT_NE(t.find("{0}"), std::string::npos) << t;
      EXPECT_EQ(t.find("{1}") != std::string::npos, two_slots) << t;
    }
  }
  // The held-out evaluation templates never occur in training.
  for (const auto& t : task_templates("test_iid2title")) {
    const auto& train = task_templates("iid2title");
    EXPECT_EQ(std::find(train.begin(), train.end(), t), train.end()) << t;
  }
  EXPECT_EQ(task_templates("uid2next").front(),
            "Given the user purchase history: {0} , generate the next most likely clicked item "
            "title.");
  EXPECT_EQ(fill_template("Please rank the following items: {1} from what the user likes to "
                          "dislikes. Here is the user history: {0} .",
                          {"H", "A; B"}),
            "Please rank the following items: A; B from what the user likes to dislikes. Here is "
            "the user history: H .");
  EXPECT_THROW(fill_template("{1}", {"only one"}), Error);
  EXPECT_THROW(task_templates("uid2summary"), Error);
}

TEST(LabelFiles, ReadBackWhatTheWriterWrites) {
  const std::string dir = test::scratch_dir();
  LabelRow r = row(3, 4);
  r.pos_score = 0.1f;
  test::write_text(dir + "/top.txt", format_label_row(r) + format_label_row(row(1, 2)));
  const auto rows = read_label_file(dir + "/top.txt", kItems);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].uid, 3);
  EXPECT_EQ(rows[0].iid, 4);
  EXPECT_EQ(rows[0].top1, 5);
  EXPECT_EQ(rows[0].topk, r.topk);
  EXPECT_EQ(rows[0].pos_score, 0.1f);
  EXPECT_EQ(rows[0].neg_score, -1.25f);

  auto expect_error = [&](const std::string& text, const std::string& message) {
    test::write_text(dir + "/bad.txt", text);
    try {
      read_label_file(dir + "/bad.txt", kItems);
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(dir + "/bad.txt:2"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  const std::string good = format_label_row(row(1, 2));
  expect_error(good + "1\t2\t3\t4,5,6,7,8\t9\t10\t0.5\n", "7 tab-separated fields");
  expect_error(good + "1\t2\t3\t4,5,6,7\t9\t10\t0.5\t0.1\n", "4 ranked items");
  expect_error(good + "1\t99\t3\t4,5,6,7,8\t9\t10\t0.5\t0.1\n", "'99' is not an item");
  expect_error(good + "1\tx\t3\t4,5,6,7,8\t9\t10\t0.5\t0.1\n", "'x' is not an item");
  expect_error(good + "1\t2\t3\t4,5,6,7,8\t9\t10\tnan?\t0.1\n", "is not a score");
  EXPECT_THROW(read_label_file(dir + "/missing.txt"), Error);
}

TEST(AlignmentData, SasrecPipelineCountsFollowTheOriginal) {
  const SequenceDataset data = sequences();
  const AlignData out = make_alignment_data(data, labels(data), {});
  const auto b = count(out.train, AlignVariant::behaviour);
  const auto i = count(out.train, AlignVariant::intention);
  const auto h = count(out.train, AlignVariant::hybrid);
  const int64_t train_rows = 3 + 3 + 3 + 10, users = 4, items = kItems - 1;
  for (const auto* c : {&b, &i, &h}) {
    EXPECT_EQ(c->at("uid2next"), train_rows);
    EXPECT_EQ(c->at("uidiid2rank"), train_rows);
    EXPECT_EQ(c->at("uidiid2binary"), 2 * users);  // the row of seq[-2] only
    EXPECT_EQ(c->at("iid2feature"), items);
    EXPECT_EQ(c->at("iid2sim"), items);
  }
  EXPECT_EQ(i.at("uid2hist"), 4 + 4 + 4 + 11);  // seq[1:]
  EXPECT_EQ(h.at("uid2hist"), i.at("uid2hist"));
  EXPECT_EQ(b.count("uid2hist"), 0u);
  EXPECT_EQ(i.at("iid2title"), items);
  EXPECT_EQ(b.count("iid2title"), 0u);
  EXPECT_EQ(b.at("feature2iid"), items);
  EXPECT_EQ(i.count("feature2iid"), 0u);

  const auto vb = count(out.valid, AlignVariant::behaviour);
  const auto vi = count(out.valid, AlignVariant::intention);
  EXPECT_EQ(vb.at("uid2next"), users);
  EXPECT_EQ(vb.at("uidiid2rank"), users);
  EXPECT_EQ(vi.at("uid2hist"), users);
  EXPECT_EQ(vb.count("uid2hist"), 0u);
  EXPECT_EQ(vi.at("iid2title"), items);
  EXPECT_EQ(vb.count("iid2title"), 0u);
  const int64_t binary = vb.count("uidiid2binary") ? vb.at("uidiid2binary") : 0;
  EXPECT_EQ(binary % 2, 0);
  EXPECT_LE(binary, 2 * users);
  for (const auto& s : out.valid)
    if (s.type == "iid2title") {
      const auto& held_out = task_templates("test_iid2title");
      EXPECT_NE(std::find(held_out.begin(), held_out.end(), s.user_template), held_out.end());
    }
}

// explan_data_gen.py: a Yes (pos) and a No (neg) sample per row, valid from test_top.txt,
// train from the rows of each user's second-to-last item, the prompt filled per variant.
TEST(AlignmentData, ExplanationSamplesPairPosAndNegPerRow) {
  const SequenceDataset data = sequences();
  const AlignData out = make_alignment_data(data, labels(data), {});
  ASSERT_EQ(out.explain_valid.size(), 8u);  // 4 users x (pos, neg)
  ASSERT_EQ(out.explain_train.size(), 8u);
  for (const auto* split : {&out.explain_valid, &out.explain_train})
    for (size_t k = 0; k < split->size(); ++k) {
      const AlignSample& s = (*split)[k];
      EXPECT_EQ(s.type, "uidiid2explan");
      const bool pos = k % 2 == 0;
      EXPECT_EQ(s.answer, pos ? "Yes" : "No");
      EXPECT_EQ(s.target, pos ? 12 : 6);
      EXPECT_EQ(s.score, pos ? 2.5 : -1.25);
      EXPECT_EQ(s.user_template.rfind("The user has the following purchase history: {0} . Will "
                                      "the user like the item: {1} ?",
                                      0),
                0u);
      const auto& items = data.sequences[s.uid - 1];
      EXPECT_EQ(s.iid, split == &out.explain_valid ? items.back() : items[items.size() - 2]);
      const auto& b = s.question[static_cast<int>(AlignVariant::behaviour)];
      const auto& i = s.question[static_cast<int>(AlignVariant::intention)];
      const auto& h = s.question[static_cast<int>(AlignVariant::hybrid)];
      EXPECT_EQ(b[1], title(s.target));
      EXPECT_EQ(i, (std::vector<std::string>{"<user>", "<item>"}));
      EXPECT_EQ(h[0], "<user>" + b[0]);
      EXPECT_EQ(h[1], "<item>" + b[1]);
      EXPECT_EQ(s.to_json(AlignVariant::hybrid).at("score"), s.score);
    }
}

TEST(AlignmentData, VariantsFillTheQuestionsAsTheOriginal) {
  const SequenceDataset data = sequences();
  const AlignData out = make_alignment_data(data, labels(data), {});
  bool saw_shuffle = false, saw_repeat = false, saw_long = false;
  for (const AlignSample& s : out.train) {
    if (s.type == "uid2next") {
      std::string hist;
      if (s.uid == 1) {
        const auto& seq = data.sequences[0];
        for (auto it = seq.begin(); *it != s.iid; ++it)
          hist += (hist.empty() ? "" : "; ") + title(*it);
        EXPECT_EQ(s.question[0], std::vector<std::string>{hist});
      }
      hist = s.question[0][0];
      EXPECT_EQ(s.question[1], std::vector<std::string>{"<user>"});
      EXPECT_EQ(s.question[2], std::vector<std::string>{"<user>" + hist});
      EXPECT_EQ(s.answer, title(s.iid % 12 + 1));  // title(top1)
      if (s.uid == 3 && s.iid == 1) {
        // The history stops at the item's first occurrence: nothing comes before it.
        EXPECT_EQ(hist, "");
        saw_repeat = true;
      }
      if (s.uid == 4 && s.iid == 11) {
        EXPECT_EQ(hist, "Item 2; Item 3; Item 4; Item 5; Item 6; Item 7; Item 8; Item 9; Item 10");
        saw_long = true;
      }
    }
    if (s.type == "uidiid2rank") {
      EXPECT_EQ(s.answer, "Item 7; Item 8; Item 9; Item 10; Item 11");  // the model's order
      std::vector<int64_t> sorted = s.topk;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(sorted, (std::vector<int64_t>{7, 8, 9, 10, 11}));
      saw_shuffle |= s.topk != sorted;
      std::string shown, tagged;
      for (int64_t item : s.topk) {
        shown += (shown.empty() ? "" : "; ") + title(item);
        tagged += (tagged.empty() ? "" : "; ") + ("<item>" + title(item));
      }
      ASSERT_EQ(s.question[0].size(), 2u);
      EXPECT_EQ(s.question[0][1], shown);
      EXPECT_EQ(s.question[1],
                (std::vector<std::string>{"<user>", "<item><item><item><item><item>"}));
      EXPECT_EQ(s.question[2], (std::vector<std::string>{"<user>" + s.question[0][0], tagged}));
    }
    if (s.type == "uidiid2binary") {
      EXPECT_EQ(s.answer, s.target == 12 ? "Yes" : "No");
      EXPECT_EQ(s.question[0][1], title(s.target));
      EXPECT_EQ(s.question[1], (std::vector<std::string>{"<user>", "<item>"}));
      EXPECT_EQ(s.question[2][1], "<item>" + title(s.target));
      const auto& seq = data.sequences[s.uid - 1];
      EXPECT_EQ(s.iid, seq[seq.size() - 2]);
    }
    if (s.type == "iid2feature") {
      EXPECT_EQ(s.question[0], std::vector<std::string>{title(s.iid)});
      EXPECT_EQ(s.question[1], std::vector<std::string>{"<item>"});
      EXPECT_EQ(s.question[2], std::vector<std::string>{"<item>" + title(s.iid)});
      EXPECT_EQ(s.answer, "f" + std::to_string(s.iid % 3));
    }
    if (s.type == "iid2sim") {
      EXPECT_EQ(s.answer, title(s.iid % 12 + 1));
    }
    if (s.type == "uid2hist" && s.uid == 2 && s.iid == 1) {
      EXPECT_EQ(s.answer, "Item 2; Item 3; Item 4");
    }
  }
  EXPECT_TRUE(saw_shuffle);
  EXPECT_TRUE(saw_repeat);
  EXPECT_TRUE(saw_long);
  for (const AlignSample& s : out.valid)
    if (s.type == "uid2hist" && s.uid == 4) {
      EXPECT_EQ(s.iid, -1);
      EXPECT_EQ(s.answer,
                "Item 4; Item 5; Item 6; Item 7; Item 8; Item 9; Item 10; Item 11; Item 12");
    }

  // The sample dicts: one template for the three variants, a pair for two-slot questions.
  const AlignSample& rank = *std::find_if(out.train.begin(), out.train.end(),
                                          [](const auto& s) { return s.type == "uidiid2rank"; });
  const json jb = rank.to_json(AlignVariant::behaviour), jh = rank.to_json(AlignVariant::hybrid);
  EXPECT_EQ(jb.at("template"), jh.at("template"));
  EXPECT_EQ(jb.at("template").at("ASSISTANT"), "{0}");
  EXPECT_TRUE(jb.at("question").is_array());
  EXPECT_EQ(jb.at("topk"), json(rank.topk));
  EXPECT_EQ(jb.at("uid"), rank.uid);
  const AlignSample& item = *std::find_if(out.train.begin(), out.train.end(),
                                          [](const auto& s) { return s.type == "iid2title"; });
  EXPECT_FALSE(item.to_json(AlignVariant::intention).contains("uid"));
  EXPECT_TRUE(item.to_json(AlignVariant::intention).at("question").is_string());
}

TEST(AlignmentData, SeededAndSubsampledDeterministically) {
  const SequenceDataset data = sequences();
  AlignDataOptions options;
  auto dump = [&](const AlignData& d) {
    json all = json::array();
    for (const auto& s : d.train) all.push_back(s.to_json(AlignVariant::hybrid));
    for (const auto& s : d.valid) all.push_back(s.to_json(AlignVariant::hybrid));
    return all.dump();
  };
  const std::string first = dump(make_alignment_data(data, labels(data), options));
  EXPECT_EQ(dump(make_alignment_data(data, labels(data), options)), first);
  options.seed = 7;
  EXPECT_NE(dump(make_alignment_data(data, labels(data), options)), first);

  options.max_train_per_user = 1;
  const AlignData small = make_alignment_data(data, labels(data), options);
  const auto c = count(small.train, AlignVariant::hybrid);
  EXPECT_EQ(c.at("uid2next"), 4);
  EXPECT_EQ(c.at("uidiid2binary"), 8);  // the last training row is the binary one
  EXPECT_EQ(c.at("uid2hist"), 4);
  for (const auto& s : small.train)
    if (s.type == "uid2next") {
      const auto& seq = data.sequences[s.uid - 1];
      EXPECT_EQ(s.iid, seq[seq.size() - 2]);
    }
  EXPECT_EQ(count(small.valid, AlignVariant::hybrid).at("uid2next"), 4);  // built in full
}

TEST(AlignmentData, MfPipelineSplitsTheSixRowsPerUser) {
  // 10 users, so that 0.9 N = 9 puts user 10 into validation.
  std::vector<std::vector<int64_t>> seqs;
  for (int64_t u = 0; u < 10; ++u) seqs.push_back({1 + u % 5, 6, 7, 8 + u % 4});
  const SequenceDataset data = test::make_sequences(seqs, kItems);
  AlignDataOptions options;
  options.pipeline = "mf";
  const AlignData out = make_alignment_data(data, labels(data, 6), options);
  const auto t = count(out.train, AlignVariant::hybrid);
  const auto v = count(out.valid, AlignVariant::hybrid);
  EXPECT_EQ(t.at("uid2next"), 9 * 5);
  EXPECT_EQ(v.at("uid2next"), 1 * 5);
  EXPECT_EQ(t.at("uidiid2rank"), 10 * 5);
  EXPECT_EQ(v.at("uidiid2rank"), 10);
  EXPECT_EQ(t.at("uidiid2binary"), 10 * 3 * 2);
  EXPECT_EQ(t.at("uid2hist"), 9 * 3);
  EXPECT_EQ(v.at("uid2hist"), 1);
  for (const auto& s : out.valid)
    if (s.type == "uid2hist") {
      EXPECT_EQ(s.answer, "Item 5; Item 6; Item 7");  // user 10: 5 6 7 9
    }
  EXPECT_THROW(make_alignment_data(data, labels(data, 5), options), Error);
  options.pipeline = "bpr";
  EXPECT_THROW(make_alignment_data(data, labels(data, 6), options), Error);
}

TEST(AlignCli, DataFromARecRunEndToEnd) {
  const std::string dir = test::scratch_dir();
  write_sequence_folder(dir + "/seq", test::random_sequences(30, 25, 4, 9, 3));
  const std::string tiny =
      " --set rec.sasrec_dim=16 --set rec.sasrec_heads=2 --set rec.sasrec_ffn=16 --set "
      "rec.epochs=1 --set rec.sasrec_batch_size=64 --set rec.device=cpu --threads 1";
  auto r = test::run_gavamoe(
      "rec train --model sasrec --data " + dir + "/seq --out " + dir + "/run" + tiny, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_gavamoe("rec label --run " + dir + "/run --out " + dir + "/labels", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_gavamoe("align data --rec " + dir + "/run --labels " + dir + "/labels --out " +
                            dir + "/align --seed 5",
                        dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hybrid"), std::string::npos) << r.out;
  const json info = json::parse(test::read_text(dir + "/align/align_data.json"));
  EXPECT_EQ(info.at("pipeline"), "sasrec");
  for (const char* variant : {"behaviour", "intention", "hybrid"})
    for (const char* split : {"train", "valid"}) {
      const json rows =
          json::parse(test::read_text(dir + "/align/" + variant + "_" + split + ".json"));
      EXPECT_EQ(static_cast<int64_t>(rows.size()),
                info.at("counts").at(split).at(variant).at("total").get<int64_t>());
      EXPECT_GT(rows.size(), 0u);
    }

  // Bad input: one line, exit 2, no output folder.
  r = test::run_gavamoe(
      "align data --rec " + dir + "/run --labels " + dir + "/nowhere --out " + dir + "/bad", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("train_top.txt"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/bad"));
  r = test::run_gavamoe(
      "align data --rec " + dir + "/seq --labels " + dir + "/labels --out " + dir + "/bad", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir + "/bad"));
  r = test::run_gavamoe("align data --rec " + dir + "/run --labels " + dir +
                            "/labels --variant both --out " + dir + "/bad",
                        dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'both'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/bad"));
}

}  // namespace
}  // namespace gavamoe
