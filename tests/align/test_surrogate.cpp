// align train / eval: the surrogate's prompt layout (ChatML, placeholders as numbered slots,
// answer + end token), injection (the connector output added to the placeholder row at every
// occurrence, the k-th <item> taking the k-th item vector), loss masking (answer and end token
// only, checked against a brute-force cross-entropy), gradients (connectors, rows and LoRA
// train, the base does not), exact resume, and the commands end to end on a tiny chat base and
// a tiny SASRec, with bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gavamoe/align/align_batches.hpp"
#include "gavamoe/align/align_judge.hpp"
#include "gavamoe/align/align_trainer.hpp"
#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/align/alignment_prompt.hpp"
#include "gavamoe/align/explanation_judge.hpp"
#include "gavamoe/align/surrogate.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "model/tiny_chat_base.hpp"
#include "rec/rec_fixtures.hpp"
#include "test_util.hpp"
#include "training_runs.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::unique_ptr<Tokenizer> chat_tokenizer() {
  return test::tiny_bpe({"<|endoftext|>", "<|im_start|>", "<|im_end|>"}, test::kChatmlTemplate, {},
                        1, 2);
}

AlignQuery rank_query() {
  AlignQuery q;
  q.type = "uidiid2rank";
  q.uid = 1;
  q.iid = 3;
  q.topk = {5, 7};
  q.user_template = "User {0} ranks {1} .";
  q.question = {"<user>Item 1", "<item>Item 5; <item>Item 7"};
  q.answer = " Item 7; Item 5 ";
  return q;
}

Llama tiny_llama(int64_t vocab) {
  LlamaConfig config = LlamaConfig::from_json(json::parse(R"({
      "vocab_size": 300, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
      "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8,
      "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "tie_word_embeddings": true})"),
                                              "tiny");
  config.vocab_size = vocab;
  Llama model(config);
  model->init_weights(5);
  return model;
}

TEST(AlignPrompt, ChatTurnWithNumberedItemSlotsThenAnswerAndEnd) {
  const auto tokenizer = chat_tokenizer();
  const AlignPromptOptions o = align_prompt_options(*tokenizer, "auto", 400, 300);
  EXPECT_EQ(o.template_name, "chatml");
  EXPECT_EQ(o.end_id, tokenizer->piece_to_id("<|im_end|>"));
  EXPECT_EQ(o.user_id, 300);  // beyond the model's 300 rows (and the 259 pieces)
  EXPECT_EQ(o.item_id, 301);
  EXPECT_FALSE(o.add_bos);

  const AlignQuery q = rank_query();
  EXPECT_EQ(q.user_text(), "User <user>Item 1 ranks <item>Item 5; <item>Item 7 .");
  const auto example = encode_align_example(*tokenizer, q, o);
  ASSERT_TRUE(example.has_value());
  EXPECT_TRUE(example->has_user);
  EXPECT_EQ(example->item_slots, 2);
  // The prompt is the rendered user turn with each placeholder one id, the k-th <item> item + k.
  const std::string user = "<|im_start|>user\nUser", after_user = "Item 1 ranks", first = "Item 5;",
                    second = "Item 7 .<|im_end|>\n<|im_start|>assistant\n";
  std::vector<int> expected = tokenizer->encode(user);
  expected.push_back(300);
  for (int id : tokenizer->encode(after_user)) expected.push_back(id);
  expected.push_back(301);
  for (int id : tokenizer->encode(first)) expected.push_back(id);
  expected.push_back(302);
  for (int id : tokenizer->encode(second)) expected.push_back(id);
  ASSERT_EQ(example->prompt_length, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(std::vector<int>(example->ids.begin(), example->ids.begin() + example->prompt_length),
            expected);
  // Then the stripped answer and <|im_end|>.
  std::vector<int> answer = tokenizer->encode("Item 7; Item 5");
  answer.push_back(o.end_id);
  EXPECT_EQ(std::vector<int>(example->ids.begin() + example->prompt_length, example->ids.end()),
            answer);
  EXPECT_EQ(q.slot_items(), (std::vector<int64_t>{5, 7}));

  // The prompt alone must fit; the answer is cut to fit, the end token kept.
  AlignPromptOptions tight = o;
  tight.max_length = example->prompt_length + 3;
  const auto cut = encode_align_example(*tokenizer, q, tight);
  ASSERT_TRUE(cut.has_value());
  EXPECT_TRUE(cut->answer_truncated);
  EXPECT_EQ(static_cast<int64_t>(cut->ids.size()), tight.max_length);
  EXPECT_EQ(cut->ids.back(), o.end_id);
  tight.max_length = example->prompt_length;
  EXPECT_FALSE(encode_align_example(*tokenizer, q, tight).has_value());
}

TEST(Surrogate, ConnectorOutputIsAddedToThePlaceholderRowAtEveryOccurrence) {
  SurrogateOptions options;
  options.variant = "hybrid";
  options.rec_dim = 4;
  options.lora = {2, 4.0, 0.0};
  Surrogate model(tiny_llama(300), options, 300, 301, 3);
  model->eval();
  // Row 0: <user> twice, items in slots 0 and 1; row 1: slot 0 only.
  const torch::Tensor ids = torch::tensor({{5, 300, 6, 301, 300, 302}, {7, 301, 8, 9, 10, 11}});
  const torch::Tensor users = torch::randn({2, 4});
  const torch::Tensor items = torch::randn({2, 2, 4});
  const Placeholders p = model->placeholders(users, items);
  ASSERT_EQ(p.tokens, (std::vector<int64_t>{300, 301, 302}));
  const torch::Tensor embedded = model->llama->embed(ids, p);  // [2, 6, C]
  const torch::Tensor table = model->llama->embed_tokens->weight;
  auto user_vector = [&](int64_t b) {
    return model->user_connector->forward(users[b]) + model->user_embedding;
  };
  auto item_vector = [&](int64_t b, int64_t k) {
    return model->item_connector->forward(items[b][k]) + model->item_embedding;
  };
  EXPECT_TRUE(torch::allclose(embedded[0][0], table[5]));
  EXPECT_TRUE(torch::allclose(embedded[0][1], user_vector(0)));
  EXPECT_TRUE(torch::allclose(embedded[0][4], user_vector(0)));
  EXPECT_TRUE(torch::allclose(embedded[0][3], item_vector(0, 0)));
  EXPECT_TRUE(torch::allclose(embedded[0][5], item_vector(0, 1)));
  EXPECT_TRUE(torch::allclose(embedded[1][1], item_vector(1, 0)));
  EXPECT_TRUE(torch::allclose(embedded[1][2], table[8]));
  // The connector is Linear -> GELU (erf) -> Linear, C/2 wide.
  const auto first = model->user_connector->ptr(0)->as<torch::nn::LinearImpl>();
  const auto second = model->user_connector->ptr(2)->as<torch::nn::LinearImpl>();
  EXPECT_EQ(first->weight.size(0), 8);
  const torch::Tensor by_hand =
      torch::gelu(users[0].matmul(first->weight.t()) + first->bias).matmul(second->weight.t()) +
      second->bias;
  EXPECT_TRUE(torch::allclose(model->user_connector->forward(users[0]), by_hand, 1e-6, 1e-6));
}

// A conversation trains on every answer with its end token, and not on the turns between;
// the ids are the conversation as the template writes it.
TEST(AlignPrompt, ConversationTrainsEveryAnswerAndNotTheTurnsBetween) {
  const auto tokenizer = chat_tokenizer();
  const AlignPromptOptions o = align_prompt_options(*tokenizer, "auto", 400, 300);
  AlignQuery q;
  q.type = "sharegpt";
  q.conversation = {
      {"user", "Hi there"}, {"assistant", " Hello! "}, {"user", "A film?"}, {"assistant", "Heat"}};
  const auto e = encode_align_example(*tokenizer, q, o);
  ASSERT_TRUE(e.has_value());
  const std::string end = "<|im_end|>";
  const std::string between = "\n<|im_start|>user\nA film?<|im_end|>\n<|im_start|>assistant\n";
  std::vector<int> expected = tokenizer->encode(
      "<|im_start|>user\nHi there<|im_end|>\n"
      "<|im_start|>assistant\n");
  const int64_t first = static_cast<int64_t>(expected.size());
  for (int id : tokenizer->encode("Hello!")) expected.push_back(id);
  expected.push_back(o.end_id);
  const int64_t first_end = static_cast<int64_t>(expected.size());
  for (int id : tokenizer->encode(between)) expected.push_back(id);
  const int64_t second = static_cast<int64_t>(expected.size());
  for (int id : tokenizer->encode("Heat")) expected.push_back(id);
  expected.push_back(o.end_id);
  EXPECT_EQ(e->ids, expected);
  EXPECT_EQ(e->prompt_length, first);
  using Spans = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(e->answers,
            (Spans{{first, first_end}, {second, static_cast<int64_t>(expected.size())}}));
  EXPECT_EQ(e->trained_tokens(),
            first_end - first + static_cast<int64_t>(expected.size()) - second);
  const std::string written = render_chat(
      "chatml",
      {{"user", "Hi there"}, {"assistant", "Hello!"}, {"user", "A film?"}, {"assistant", "Heat"}},
      false, *tokenizer);
  EXPECT_EQ(tokenizer->decode(e->ids) + "\n", written);

  AlignExamples examples;
  examples.examples.push_back(*e);
  examples.slot_items.push_back({});
  examples.query.push_back(0);
  examples.users = torch::zeros({1, 4});
  examples.item_table = torch::zeros({2, 4});
  examples.pad_id = o.end_id;
  const SurrogateBatch batch = make_surrogate_batch(examples, {0});
  for (int64_t p = 0; p + 1 < static_cast<int64_t>(expected.size()); ++p) {
    const bool scored = (p + 1 >= first && p + 1 < first_end) || p + 1 >= second;
    EXPECT_EQ(batch.targets[0][p].item<int64_t>(), scored ? expected[p + 1] : -100) << p;
  }

  // Cut after the last whole later turn that fits; the first answer may be truncated.
  AlignPromptOptions tight = o;
  tight.max_length = second + 1;
  const auto cut = encode_align_example(*tokenizer, q, tight);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->ids, std::vector<int>(expected.begin(), expected.begin() + first_end));
  EXPECT_EQ(cut->answers.size(), 1u);
  tight.max_length = first + 2;
  const auto truncated = encode_align_example(*tokenizer, q, tight);
  ASSERT_TRUE(truncated.has_value());
  EXPECT_TRUE(truncated->answer_truncated);
  EXPECT_EQ(truncated->ids.back(), o.end_id);
  tight.max_length = first;
  EXPECT_FALSE(encode_align_example(*tokenizer, q, tight).has_value());
}

TEST(Surrogate, LossIsTheAnswerTokensCrossEntropyAndTrainsOnlyTheNewParts) {
  const auto tokenizer = chat_tokenizer();
  const AlignPromptOptions o = align_prompt_options(*tokenizer, "auto", 400, 300);
  SurrogateOptions options;
  options.variant = "hybrid";
  options.rec_dim = 4;
  options.lora = {2, 4.0, 0.0};
  Surrogate model(tiny_llama(300), options, o.user_id, o.item_id, 3);
  model->train();
  AlignQuery short_query = rank_query();
  short_query.answer = "Item 7";
  AlignExamples examples;
  for (const AlignQuery& q : {rank_query(), short_query}) {
    examples.examples.push_back(*encode_align_example(*tokenizer, q, o));
    examples.slot_items.push_back(q.slot_items());
    examples.query.push_back(0);
  }
  examples.users = torch::randn({2, 4});
  examples.item_table = torch::randn({9, 4});
  examples.pad_id = o.end_id;
  const SurrogateBatch batch = make_surrogate_batch(examples, {0, 1});
  // Targets: -100 except where the next token is an answer token or the end token.
  for (int64_t row = 0; row < 2; ++row) {
    const AlignExample& e = examples.examples[row];
    for (int64_t p = 0; p < batch.ids.size(1); ++p) {
      const bool scored = p >= e.prompt_length - 1 && p + 1 < static_cast<int64_t>(e.ids.size());
      EXPECT_EQ(batch.targets[row][p].item<int64_t>(), scored ? e.ids[p + 1] : -100)
          << row << " " << p;
    }
  }
  EXPECT_TRUE(torch::equal(batch.items[1][0], examples.item_table[5]));
  EXPECT_TRUE(torch::equal(batch.items[1][1], examples.item_table[7]));

  const auto [sum, tokens] = model->loss(batch);
  // Brute force: each row alone, whole logits, the answer positions' log-probabilities.
  double expected = 0;
  int64_t expected_tokens = 0;
  for (int64_t row = 0; row < 2; ++row) {
    const SurrogateBatch one = make_surrogate_batch(examples, {row});
    const auto logits = model->llama->head(model->hidden(one)).log_softmax(-1)[0];
    const AlignExample& e = examples.examples[row];
    for (int64_t p = e.prompt_length - 1; p + 1 < static_cast<int64_t>(e.ids.size()); ++p) {
      expected -= logits[p][e.ids[p + 1]].item<double>();
      ++expected_tokens;
    }
  }
  EXPECT_EQ(tokens, expected_tokens);
  EXPECT_NEAR(sum.item<double>(), expected, 1e-3 * std::abs(expected));

  sum.backward();
  const auto trainable = model->trainable_parameters();
  for (const char* name : {"user_connector.0.weight", "item_connector.2.weight", "user_embedding",
                           "item_embedding", "llama.layers.0.self_attn.q_proj.lora_B.weight"}) {
    ASSERT_TRUE(trainable.count(name)) << name;
    ASSERT_TRUE(trainable.at(name).grad().defined()) << name;
    EXPECT_GT(trainable.at(name).grad().abs().sum().item<double>(), 0) << name;
  }
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (name.find("embed_tokens") != std::string::npos ||
        name.find("base_layer") != std::string::npos || name.find(".mlp.") != std::string::npos) {
      EXPECT_FALSE(item.value().requires_grad()) << name;
    }
  }
}

// A sequence folder, a tiny SASRec trained on it, its labels and the alignment samples.
struct AlignFixture {
  std::string dir, rec, align, base;
};

AlignFixture make_align_fixture() {
  AlignFixture f;
  f.dir = test::scratch_dir();
  write_sequence_folder(f.dir + "/seq", test::random_sequences(12, 20, 4, 7, 3));
  auto r = test::run_gavamoe("rec train --model sasrec --data " + f.dir + "/seq --out " + f.dir +
                                 "/rec --set rec.sasrec_dim=8 --set rec.sasrec_heads=2 --set "
                                 "rec.sasrec_ffn=8 --set rec.epochs=1 --set rec.device=cpu "
                                 "--threads 1",
                             f.dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = test::run_gavamoe("rec label --run " + f.dir + "/rec --out " + f.dir + "/labels", f.dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // With a little chat data mixed in, so that every command meets conversations too.
  nlohmann::json chat = nlohmann::json::array();
  for (int i = 0; i < 12; ++i) {
    const nlohmann::json ask = {{"from", "human"}, {"value", "Say " + std::to_string(i)}};
    const nlohmann::json answer = {{"from", "gpt"}, {"value", std::to_string(i)}};
    chat.push_back({{"conversations", nlohmann::json::array({ask, answer})}});
  }
  test::write_text(f.dir + "/chat.json", chat.dump());
  r = test::run_gavamoe("align data --rec " + f.dir + "/rec --labels " + f.dir + "/labels --out " +
                            f.dir + "/align --max-train-per-user 1 --general " + f.dir +
                            "/chat.json --general-ratio 0.1",
                        f.dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  f.rec = f.dir + "/rec";
  f.align = f.dir + "/align";
  f.base = test::write_tiny_chat_base(f.dir + "/base");
  return f;
}

AlignTrainOptions tiny_training(const AlignFixture& f) {
  AlignTrainOptions o;
  o.variant = "hybrid";
  o.data = f.align;
  o.base_model = f.base;
  o.max_length = 480;
  o.epochs = 2;
  o.batch_size = 2;
  o.grad_accum = 2;
  o.lr = 1e-3;
  o.lora_rank = 2;
  o.lora_dropout = 0.1;
  o.max_train_samples = 16;
  o.valid_samples = 4;
  o.checkpoint_every = 1;
  o.device = "cpu";
  o.seed = 4;
  return o;
}

TEST(AlignTrainer, ResumedRunEndsWithTheSameWeights) {
  torch::set_num_threads(1);
  const AlignFixture f = make_align_fixture();
  AlignTrainOptions o = tiny_training(f);
  train_surrogate(o, f.dir + "/straight", false);
  o.stop_after_steps = 3;  // mid-epoch: 4 steps per epoch
  EXPECT_TRUE(train_surrogate(o, f.dir + "/killed", false).value("stopped", false));
  EXPECT_FALSE(fs::exists(f.dir + "/killed/" + kSurrogateFile));
  o.stop_after_steps = 0;
  train_surrogate(o, f.dir + "/killed", true);
  const SafetensorsReader straight(f.dir + "/straight/" + kSurrogateFile),
      resumed(f.dir + "/killed/" + kSurrogateFile);
  ASSERT_EQ(straight.names(), resumed.names());
  for (const auto& name : straight.names())
    EXPECT_TRUE(torch::equal(straight.load(name), resumed.load(name))) << name;
  const json metrics = json::parse(test::read_text(f.dir + "/straight/metrics.json"));
  EXPECT_EQ(metrics.at("samples").at("train").get<int64_t>(), 16);
  EXPECT_EQ(metrics.at("steps").get<int64_t>(), 8);
}

TEST(AlignCli, TrainEvalAndTheBaselineEndToEnd) {
  const AlignFixture f = make_align_fixture();
  const std::string tiny =
      " --set align.max_length=480 --set align.batch_size=2 --set align.grad_accum=1 --set "
      "align.lora_r=2 --set align.max_train_samples=8 --set align.valid_samples=4 --set "
      "align.device=cpu --threads 1";
  auto r = test::run_gavamoe("align train --data " + f.align + " --variant hybrid --base-model " +
                                 f.base + " --out " + f.dir + "/run" + tiny,
                             f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* file : {kAlignRunFile, kSurrogateFile, "tokenizer.json", "config.json",
                           "metrics.json", "train_log.jsonl"})
    EXPECT_TRUE(fs::exists(f.dir + "/run/" + file)) << file;
  const AlignRunInfo info = read_align_run_info(f.dir + "/run");
  EXPECT_EQ(info.options.variant, "hybrid");
  EXPECT_EQ(info.options.rec_dim, 8);
  EXPECT_EQ(info.rec_run, fs::absolute(f.rec).lexically_normal().string());

  r = test::run_gavamoe(
      "align eval --run " + f.dir + "/run --max-samples 2 --max-new-tokens 6 --threads 1", f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json result = json::parse(test::read_text(f.dir + "/run/align_eval.json"));
  for (const char* task : {"uid2next", "uidiid2rank", "uidiid2binary", "iid2title", "uid2hist"}) {
    ASSERT_TRUE(result.at("tasks").contains(task)) << task;
    EXPECT_EQ(result.at("tasks").at(task).at("samples").get<int64_t>(), 2) << task;
    for (const auto& [metric, value] : result.at("tasks").at(task).items())
      if (metric != "samples") {
        EXPECT_GE(value.get<double>(), 0.0) << task << " " << metric;
        EXPECT_LE(value.get<double>(), 1.0) << task << " " << metric;
      }
  }
  EXPECT_NEAR(result.at("chance").at("uidiid2rank").at("ndcg@5").get<double>(), 0.6131, 1e-4);
  EXPECT_NE(r.out.find("uidiid2binary"), std::string::npos) << r.out;
  std::istringstream lines(test::read_text(f.dir + "/run/align_eval_predictions.jsonl"));
  int rows = 0;
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    if (j.at("task") == "uid2next") {
      EXPECT_EQ(j.at("predictions").size(), 5u);
    }
    ++rows;
  }
  EXPECT_EQ(rows, 10);

  // The baseline: the base as it is, on the behaviour samples.
  r = test::run_gavamoe("align train --data " + f.align + " --variant none --base-model " + f.base +
                            " --out " + f.dir + "/none" + tiny,
                        f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(f.dir + "/none/" + kSurrogateFile));
  r = test::run_gavamoe("align eval --run " + f.dir +
                            "/none --tasks uidiid2binary,uidiid2rank --max-samples 2 "
                            "--max-new-tokens 4 --threads 1",
                        f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json none = json::parse(test::read_text(f.dir + "/none/align_eval.json"));
  EXPECT_EQ(none.at("variant"), "none");
  EXPECT_NE(none.at("samples_file").get<std::string>().find("behaviour_valid.json"),
            std::string::npos);
  EXPECT_EQ(none.at("tasks").size(), 2u);

  // Explanations of both runs, then the judges over the two explainers.
  for (const char* run : {"run", "none"}) {
    r = test::run_gavamoe("align explain --run " + f.dir + "/" + run + " --out " + f.dir + "/" +
                              run +
                              ".jsonl --split both --max-samples 4 --max-new-tokens 6 "
                              "--min-new-tokens 3 --threads 1",
                          f.dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::istringstream explained(test::read_text(f.dir + "/run.jsonl"));
  std::vector<json> explanations;
  for (std::string line; std::getline(explained, line);) explanations.push_back(json::parse(line));
  ASSERT_EQ(explanations.size(), 8u);  // 4 train, then 4 valid
  for (size_t k = 0; k < explanations.size(); ++k) {
    EXPECT_EQ(explanations[k].at("split"), k < 4 ? "train" : "valid");
    EXPECT_EQ(explanations[k].at("label"), k % 2 == 0 ? "Yes" : "No");
    EXPECT_FALSE(explanations[k].at("history").get<std::string>().empty());
    EXPECT_EQ(explanations[k].at("target"),
              "Item " + std::to_string(explanations[k].at("target_id").get<int>()));
  }
  r = test::run_gavamoe("align explain --run " + f.dir + "/run --out " + f.dir +
                            "/run.xlsx --max-samples 2 --max-new-tokens 4 --min-new-tokens 0 "
                            "--threads 1",
                        f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(fs::file_size(f.dir + "/run.xlsx"), 0u);
  r = test::run_gavamoe("align judge --explanations hybrid=" + f.dir + "/run.jsonl none=" + f.dir +
                            "/none.jsonl --data " + f.dir + "/seq --out " + f.dir + "/judge.json",
                        f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json judged = json::parse(test::read_text(f.dir + "/judge.json"));
  for (const char* name : {"hybrid", "none"}) {
    const json& j = judged.at("explainers").at(name);
    EXPECT_EQ(j.at("rows").get<int64_t>(), 4);
    for (const char* key :
         {"grade_a_rate", "history_share", "target_mentioned", "hallucination_rate"}) {
      EXPECT_GE(j.at(key).get<double>(), 0.0) << key;
      EXPECT_LE(j.at(key).get<double>(), 1.0) << key;
    }
  }
  EXPECT_EQ(judged.at("discriminator_rows").at("train").get<int64_t>(), 4);
  ASSERT_FALSE(judged.at("discriminators").is_null());
  EXPECT_TRUE(judged.at("discriminators").at("score").contains("hybrid"));
  EXPECT_FALSE(judged.at("explainers").at("hybrid").contains("judge_model"));

  // A local judge model (a tiny chat base long enough for the judge prompt, which its few
  // merges make thousands of tokens): each of the first 3 valid rows' judge prompt as one user
  // turn of its chat template, answered greedily, equals generate() on that prompt alone.
  const std::string judge_base = test::write_tiny_chat_base(f.dir + "/judge", 5, 8192);
  // The same base as the discriminators' text encoder besides TF-IDF.
  r = test::run_gavamoe("align judge --explanations hybrid=" + f.dir + "/run.jsonl none=" + f.dir +
                            "/none.jsonl --data " + f.dir + "/seq --out " + f.dir +
                            "/judged-by-model.json --judge-model " + judge_base +
                            " --judge-max-new-tokens 5 --judge-rows 3 --batch-size 1 "
                            "--encoder-model " +
                            judge_base + " --encoder-max-tokens 64 --threads 1",
                        f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("judge model, hybrid"), std::string::npos) << r.out;
  const json model_judged = json::parse(test::read_text(f.dir + "/judged-by-model.json"));
  const json& encoded = model_judged.at("encoder_discriminators");
  ASSERT_FALSE(encoded.is_null());
  EXPECT_GE(encoded.at("distinction").at("accuracy").get<double>(), 0.0);
  EXPECT_LE(encoded.at("distinction").at("accuracy").get<double>(), 1.0);
  EXPECT_TRUE(encoded.at("score").contains("hybrid"));
  EXPECT_EQ(encoded.at("encoder").at("max_tokens"), 64);
  EXPECT_EQ(model_judged.at("discriminators"), judged.at("discriminators"));  // TF-IDF unchanged
  const json& by_model = model_judged.at("explainers").at("hybrid").at("judge_model");
  EXPECT_EQ(by_model.at("rows").get<int64_t>(), 3);
  for (const char* grades : {"grades", "grades_lenient"}) {
    int64_t counted = 0;
    for (const auto& [grade, n] : by_model.at(grades).items()) counted += n.get<int64_t>();
    EXPECT_EQ(counted, 3) << grades;
  }
  ASSERT_EQ(by_model.at("replies").size(), 3u);
  PretrainedModel judge = load_pretrained(judge_base);
  GenerationOptions greedy = answer_generation_options(*judge.tokenizer);
  greedy.max_new_tokens = 5;
  for (size_t k = 0; k < 3; ++k) {
    const json& row = explanations[4 + k];  // the valid rows follow the 4 train rows
    const std::string prompt =
        judge_prompt(split_text(row.at("history").get<std::string>(), "; "), row.at("target"),
                     row.at("label") == "Yes", row.at("answer"));
    const std::vector<int> ids = encode_chat_prompt(
        *judge.tokenizer, render_chat("chatml", {{"user", prompt}}, true, *judge.tokenizer));
    std::vector<int> reply = generate(judge.model, {ids}, greedy).tokens[0];
    const auto& stops = greedy.stop_tokens;
    if (!reply.empty() && std::find(stops.begin(), stops.end(), reply.back()) != stops.end())
      reply.pop_back();
    EXPECT_EQ(by_model.at("replies")[k], judge.tokenizer->decode(reply, true)) << k;
  }
  // The encoder's row of a text: its final hidden states' mean, L2-normalised, one entry per
  // hidden unit; only the first max_tokens tokens count.
  const std::string text = explanations[4].at("history");  // the tiny answers may be empty
  const SparseRow row = encode_text(judge.model, *judge.tokenizer, text, 1000000);
  ASSERT_EQ(row.size(), static_cast<size_t>(judge.config.hidden_size));
  std::vector<int> ids = judge.tokenizer->encode(text);
  ASSERT_GT(ids.size(), 3u);
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor input =
        torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
    const torch::Tensor mean =
        judge.model->hidden(judge.model->embed(input), torch::arange(input.size(1)).unsqueeze(0))
            .mean(1)[0]
            .to(torch::kDouble);
    const torch::Tensor expected = mean / mean.norm();
    double norm = 0;
    for (const auto& [c, v] : row) {
      EXPECT_NEAR(v, expected[c].item<double>(), 1e-6) << c;
      norm += v * v;
    }
    EXPECT_NEAR(norm, 1.0, 1e-9);
  }
  const std::string first_three = judge.tokenizer->decode({ids.begin(), ids.begin() + 3}, false);
  if (judge.tokenizer->encode(first_three) == std::vector<int>(ids.begin(), ids.begin() + 3))
    EXPECT_EQ(encode_text(judge.model, *judge.tokenizer, text, 3),
              encode_text(judge.model, *judge.tokenizer, first_three, 3));
  // A judge model that is not there or too short for the prompts, or one name twice: one error
  // line (after the loaded model's info line), no judgement file.
  for (const std::string& args :
       {"--explanations hybrid=" + f.dir + "/run.jsonl --judge-model " + f.dir + "/nowhere",
        "--explanations hybrid=" + f.dir + "/run.jsonl --judge-model " + f.base,
        "--explanations a=" + f.dir + "/run.jsonl a=" + f.dir + "/none.jsonl"}) {
    r = test::run_gavamoe("align judge " + args + " --data " + f.dir + "/seq --out " + f.dir +
                              "/not-judged.json --threads 1",
                          f.dir);
    EXPECT_NE(r.exit_code, 0) << args;
    std::istringstream err(r.err);
    int errors = 0, others = 0;
    for (std::string line; std::getline(err, line);) {
      if (line.find("] error ") != std::string::npos)
        ++errors;
      else if (line.find("] info ") == std::string::npos)
        ++others;
    }
    EXPECT_EQ(errors, 1) << r.err;
    EXPECT_EQ(others, 0) << r.err;
    EXPECT_FALSE(fs::exists(f.dir + "/not-judged.json")) << args;
  }
}

// --nproc 2 (gloo on the CPU) against one process with the same global batch (2 micro-batches
// of 2 per step): the same loss curve, validation losses and weights. LoRA without dropout, so
// that nothing is drawn.
TEST(AlignCli, TwoProcessesMatchOneProcess) {
  const AlignFixture f = make_align_fixture();
  const std::string train =
      "align train --data " + f.align + " --variant hybrid --base-model " + f.base +
      " --set align.max_length=480 --set align.batch_size=2 --set align.grad_accum=2 --set "
      "align.lora_r=2 --set align.lora_dropout=0 --set align.epochs=2 --set "
      "align.max_train_samples=8 --set align.valid_samples=4 --set align.log_every=1 --set "
      "align.device=cpu --threads 1";
  auto r = test::run_gavamoe(train + " --out " + f.dir + "/one", f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_gavamoe(train + " --out " + f.dir + "/two --nproc 2", f.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::expect_same_training(f.dir + "/one", f.dir + "/two", kSurrogateFile, 1e-4);
  // A different world size does not resume the run.
  r = test::run_gavamoe("align train --resume " + f.dir + "/two --threads 1", f.dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("resume it with --nproc 2, not 1"), std::string::npos) << r.err;
}

TEST(AlignCli, BadInputIsOneLineAndNoRunFolder) {
  const AlignFixture f = make_align_fixture();
  const std::string base = " --base-model " + f.base + " --threads 1";
  const auto mf = test::run_gavamoe("rec train --model mf --data " + f.dir + "/seq --out " + f.dir +
                                        "/mf --set rec.mf_dim=8 --set rec.epochs=1 --set "
                                        "rec.device=cpu --threads 1",
                                    f.dir);
  ASSERT_EQ(mf.exit_code, 0) << mf.err;
  struct Case {
    std::string args, says;
  };
  const std::vector<Case> cases = {
      {"align train --data " + f.dir + "/seq --variant hybrid --out " + f.dir + "/bad" + base,
       "align_data.json"},
      {"align train --data " + f.align + " --variant hybrid --rec " + f.dir + "/seq --out " +
           f.dir + "/bad" + base,
       "rec.json"},
      {"align train --data " + f.align + " --variant both --out " + f.dir + "/bad" + base,
       "--variant"},
      {"align train --data " + f.align + " --variant hybrid --rec " + f.dir + "/mf --out " + f.dir +
           "/bad" + base,
       "built for a sasrec recommender"},
      {"align train --data " + f.align + " --variant hybrid --base-model " + f.dir +
           "/nowhere --out " + f.dir + "/bad",
       "nowhere"},
      {"align eval --run " + f.align, "align.json"},
      {"align eval --run " + f.dir + "/nowhere", "nowhere"},
  };
  for (const Case& c : cases) {
    const auto r = test::run_gavamoe(c.args, f.dir);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(f.dir + "/bad")) << c.args;
  }
  // A sample naming a user the sequences do not have.
  json rows = json::parse(test::read_text(f.align + "/hybrid_train.json"));
  for (auto& row : rows)
    if (row.at("type") == "uid2next") {
      row["uid"] = 999;
      break;
    }
  test::write_text(f.align + "/hybrid_train.json", rows.dump());
  const auto r = test::run_gavamoe("align train --data " + f.align +
                                       " --variant hybrid --set align.max_train_samples=0 --out " +
                                       f.dir + "/bad" + base,
                                   f.dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("user 999"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(f.dir + "/bad"));
}

}  // namespace
}  // namespace gavamoe
