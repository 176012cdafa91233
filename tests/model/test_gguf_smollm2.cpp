// The real SmolLM2-135M-Instruct Q4_1 GGUF (the "smollm2" alias; skipped with a message when it
// is not installed) against transformers loading the same file in float32: token ids, logits
// (all positions within 1e-3 max abs when the venv can run tests/golden/make_smollm2_golden.py
// now; else the committed tests/golden/smollm2/golden.json's top-10 and slices), 20 greedy
// tokens, and the reference numbers of the research note as a sanity check.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/kv_cache.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

struct Reference {
  json golden;
  std::string full_logits_dir;  // "" when only the committed file is used
  std::string source;
};

struct Fixture {
  std::string skip_reason;
  PretrainedModel model;
  Reference reference;
};

Reference make_reference(const std::string& gguf) {
  Reference reference;
  const std::string python = test::venv_python();
  if (!python.empty()) {
    const std::string dir = std::string(GAVAMOE_TEST_SCRATCH) + "/gguf-smollm2-reference." +
                            std::to_string(::getpid());  // one per parallel test process
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const test::CommandResult made = test::run_command(
        python + " " + test::source_path("tests/golden/make_smollm2_golden.py") + " " +
            test::quote(gguf) + " " + dir + "/golden.json " + dir + "/logits",
        dir);
    if (made.exit_code == 0) {
      reference.golden = json::parse(test::read_text(dir + "/golden.json"));
      reference.full_logits_dir = dir + "/logits";
      reference.source = "transformers, live";
      return reference;
    }
    std::printf("make_smollm2_golden.py failed; using the committed golden file:\n%s\n",
                made.err.substr(made.err.size() > 600 ? made.err.size() - 600 : 0).c_str());
  }
  reference.golden =
      json::parse(test::read_text(test::source_path("tests/golden/smollm2/golden.json")));
  reference.source = "tests/golden/smollm2/golden.json";
  return reference;
}

Fixture& fixture() {
  static Fixture* shared = [] {
    auto* f = new Fixture;
    std::string path;
    try {
      path = resolve_pretrained("smollm2");
    } catch (const Error& e) {
      f->skip_reason = std::string("SmolLM2 GGUF not installed: ") + e.what();
      return f;
    }
    f->model = load_pretrained(path);
    f->reference = make_reference(path);
    return f;
  }();
  return *shared;
}

#define REQUIRE_SMOLLM2()                                    \
  Fixture& f = fixture();                                    \
  if (!f.skip_reason.empty()) GTEST_SKIP() << f.skip_reason; \
  std::printf("reference: %s\n", f.reference.source.c_str())

std::vector<int> ids_of(const json& item) { return item["ids"].get<std::vector<int>>(); }

torch::Tensor logits_of(Fixture& f, const std::vector<int>& ids) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> wide(ids.begin(), ids.end());
  return f.model.model->forward(torch::tensor(wide).unsqueeze(0))[0];  // [T, V]
}

TEST(GgufSmolLM2, TokenizerAndChatTemplateGiveTransformersIds) {
  REQUIRE_SMOLLM2();
  const Tokenizer& tokenizer = *f.model.tokenizer;
  EXPECT_FALSE(tokenizer.adds_bos());
  for (const json& item : f.reference.golden["cases"]) {
    SCOPED_TRACE(item["name"].get<std::string>());
    const std::string text = item["text"];
    EXPECT_EQ(tokenizer.encode(text), ids_of(item));
    if (!item.contains("messages")) continue;
    std::vector<ChatMessage> messages;
    for (const json& m : item["messages"]) messages.push_back({m["role"], m["content"]});
    const std::string rendered = render_chat("auto", messages, true, tokenizer);
    EXPECT_EQ(rendered, text);
    EXPECT_EQ(encode_chat_prompt(tokenizer, rendered), ids_of(item));
  }
}

TEST(GgufSmolLM2, LogitsMatchTransformers) {
  REQUIRE_SMOLLM2();
  const int64_t vocab = f.reference.golden["vocab_size"];
  EXPECT_EQ(f.model.config.vocab_size, vocab);
  EXPECT_TRUE(f.model.config.tie_word_embeddings);
  for (const json& item : f.reference.golden["cases"]) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    const std::vector<int> ids = ids_of(item);
    const torch::Tensor logits = logits_of(f, ids);
    const int64_t last = static_cast<int64_t>(ids.size()) - 1;
    double slice_difference = 0;
    for (int64_t position : {int64_t{0}, last}) {
      const auto expected =
          item[position == 0 ? "first_logits" : "last_logits"].get<std::vector<float>>();
      const torch::Tensor ours = logits[position].slice(0, 0, expected.size());
      slice_difference =
          std::max(slice_difference, (ours - torch::tensor(expected)).abs().max().item<double>());
    }
    const auto top_ids = item["top_ids"].get<std::vector<int64_t>>();
    const auto top_logits = item["top_logits"].get<std::vector<float>>();
    const torch::Tensor ours_top = logits[last].index({torch::tensor(top_ids)});
    const double top_difference = (ours_top - torch::tensor(top_logits)).abs().max().item<double>();
    EXPECT_EQ(logits[last].argmax().item<int64_t>(), top_ids[0]);
    EXPECT_LT(slice_difference, 1e-3);
    EXPECT_LT(top_difference, 1e-3);
    std::printf("%s: max |diff| top-10 %.2e, slices %.2e", name.c_str(), top_difference,
                slice_difference);
    if (!f.reference.full_logits_dir.empty()) {
      const std::string bytes = test::read_text(f.reference.full_logits_dir + "/" + name + ".f32");
      ASSERT_EQ(bytes.size(), static_cast<size_t>(logits.numel() * 4));
      torch::Tensor expected = torch::empty_like(logits);
      std::memcpy(expected.data_ptr<float>(), bytes.data(), bytes.size());
      const double full = (logits - expected).abs().max().item<double>();
      std::printf(", all %lld logits %.2e", static_cast<long long>(logits.numel()), full);
      EXPECT_LT(full, 1e-3);
    }
    std::printf("\n");
  }
}

// Greedy decoding written out with the model's KV cache (the batched generator is checked
// against the same ids through `gavamoe generate` in test_gguf_cli.cpp).
TEST(GgufSmolLM2, GreedyTokensMatchTransformers) {
  REQUIRE_SMOLLM2();
  torch::NoGradGuard no_grad;
  Llama& model = f.model.model;
  const std::vector<int>& stops = f.model.config.eos_token_ids;
  for (const json& item : f.reference.golden["cases"]) {
    SCOPED_TRACE(item["name"].get<std::string>());
    const std::vector<int> prompt = ids_of(item);
    const auto length = static_cast<int64_t>(prompt.size());
    KvCache cache = model->make_cache(1, length + 20);
    torch::Tensor input = torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()));
    torch::Tensor positions = torch::arange(length);
    std::vector<int> ours;
    while (ours.size() < 20) {
      const torch::Tensor hidden =
          model->hidden(model->embed(input.unsqueeze(0)), positions.unsqueeze(0), {}, &cache);
      const int next = static_cast<int>(model->head(hidden[0][-1]).argmax().item<int64_t>());
      ours.push_back(next);
      if (std::find(stops.begin(), stops.end(), next) != stops.end()) break;
      input = torch::tensor({int64_t{next}});
      positions = torch::tensor({length + static_cast<int64_t>(ours.size()) - 1});
    }
    EXPECT_EQ(ours, item["greedy"].get<std::vector<int>>());
    EXPECT_EQ(f.model.tokenizer->decode(ours), item["greedy_text"].get<std::string>());
  }
}

// The numbers of the research note (transformers 5.24, gguf 0.19, float32), independent of the
// golden file.
TEST(GgufSmolLM2, ResearchNoteNumbers) {
  REQUIRE_SMOLLM2();
  const Tokenizer& tokenizer = *f.model.tokenizer;
  const std::vector<int> france = tokenizer.encode("The capital of France is");
  ASSERT_EQ(france, (std::vector<int>{504, 3575, 282, 4649, 314}));
  const torch::Tensor logits = logits_of(f, france);
  const auto [top_values, top_indices] = logits[-1].topk(5);
  const torch::Tensor indices = top_indices.contiguous();
  EXPECT_EQ(std::vector<int64_t>(indices.data_ptr<int64_t>(), indices.data_ptr<int64_t>() + 5),
            (std::vector<int64_t>{7042, 260, 4528, 2250, 1315}));
  const std::vector<float> expected = {17.3713f, 14.8886f, 13.2450f, 13.0095f, 12.9515f};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(top_values[i].item<float>(), expected[i], 2e-3);
  const std::vector<float> first = {15.6553f, 6.8245f, 10.5912f, 5.1095f, 6.5945f};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(logits[0][i].item<float>(), first[i], 2e-3);
  EXPECT_EQ(tokenizer.encode("Hello world 12345!"),
            (std::vector<int>{19556, 905, 216, 33, 34, 35, 36, 37, 17}));
  EXPECT_EQ(tokenizer.encode("  leading"), (std::vector<int>{216, 2899}));
}

}  // namespace
}  // namespace gavamoe
