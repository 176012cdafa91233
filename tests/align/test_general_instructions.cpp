// General instructions: the reader's filter (the original's gen_sharegpt rules) on both file
// formats, bad files as one error naming the file and conversation, and the seeded mix.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gavamoe/align/alignment_prompt.hpp"
#include "gavamoe/align/general_instructions.hpp"
#include "gavamoe/core/error.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

json sharegpt(const std::vector<std::pair<std::string, std::string>>& turns) {
  json list = json::array();
  for (const auto& [from, value] : turns) list.push_back({{"from", from}, {"value", value}});
  return {{"id", "x"}, {"conversations", list}};
}

std::string write_file(const std::string& name, const json& content) {
  const std::string path = test::scratch_dir() + "/" + name;
  test::write_text(path, content.dump());
  return path;
}

TEST(GeneralInstructions, KeepsAlternatingConversationsAsTheOriginalFilters) {
  const json file = json::array(
      {sharegpt({{"human", "hi"}, {"gpt", "hello"}}),
       sharegpt({{"gpt", "welcome"}, {"human", "a"}, {"gpt", "b"}, {"human", "c"}}),  // trimmed
       sharegpt({{"human", "a"}, {"human", "b"}}),                 // not alternating
       sharegpt({{"human", "a"}, {"gpt", ""}}),                    // an empty turn
       sharegpt({{"human", "only"}}),                              // no answer
       sharegpt({{"system", "s"}, {"gpt", "b"}, {"human", "c"}}),  // starts with gpt after the trim
       json::parse(R"({"messages": [{"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "r"}]})")});
  const GeneralInstructions general = read_general_instructions(write_file("chat.json", file));
  EXPECT_EQ(general.read, 7);
  ASSERT_EQ(general.conversations.size(), 3u);
  const auto& trimmed = general.conversations[1];
  ASSERT_EQ(trimmed.size(), 2u);
  EXPECT_EQ(trimmed[0].role, "user");
  EXPECT_EQ(trimmed[0].content, "a");
  EXPECT_EQ(trimmed[1].role, "assistant");
  EXPECT_EQ(trimmed[1].content, "b");
  EXPECT_EQ(general.conversations[2][1].content, "r");
}

TEST(GeneralInstructions, BadFilesNameTheFileAndConversation) {
  const auto error = [](const json& content) {
    const std::string path = write_file("bad.json", content);
    try {
      read_general_instructions(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error(json::object()).find("bad.json: is not a JSON array of conversations"),
            std::string::npos);
  const std::string missing = error(
      json::parse(R"([{"conversations": [{"from": "human", "value": "a"}]}, {"text": "x"}])"));
  EXPECT_NE(missing.find("bad.json: conversation 1: needs a 'conversations'"), std::string::npos)
      << missing;
  const std::string turn = error(json::parse(R"([{"conversations": [{"from": "human"}]}])"));
  EXPECT_NE(turn.find("conversation 0: every turn needs string 'from' and 'value'"),
            std::string::npos)
      << turn;
}

TEST(GeneralInstructions, MixTakesTheRatioOfEachSplitInASeededOrder) {
  GeneralInstructions general;
  for (int i = 0; i < 10; ++i)
    general.conversations.push_back({{"user", "q" + std::to_string(i)}, {"assistant", "a"}});
  const auto mixed = [&](double ratio, uint64_t seed) {
    AlignData data;
    data.train.resize(20);
    data.valid.resize(10);
    const auto counts = mix_general_instructions(data, general, ratio, seed);
    std::vector<std::string> firsts;
    for (const auto* split : {&data.train, &data.valid})
      for (const AlignSample& s : *split)
        if (s.type == "sharegpt") firsts.push_back(s.conversation[0].content);
    EXPECT_EQ(static_cast<int64_t>(firsts.size()), counts.first + counts.second);
    return std::make_pair(counts, firsts);
  };
  const auto [counts, firsts] = mixed(0.2, 7);
  EXPECT_EQ(counts, std::make_pair(int64_t{4}, int64_t{2}));
  EXPECT_EQ(mixed(0.2, 7).second, firsts);
  EXPECT_NE(mixed(0.2, 8).second, firsts);
  std::vector<std::string> unique = firsts;
  std::sort(unique.begin(), unique.end());
  EXPECT_EQ(std::unique(unique.begin(), unique.end()), unique.end());  // no conversation twice
  // More than the file holds: training first, validation gets the rest.
  EXPECT_EQ(mixed(0.45, 7).first, std::make_pair(int64_t{9}, int64_t{1}));
  EXPECT_EQ(mixed(0, 7).first, std::make_pair(int64_t{0}, int64_t{0}));
}

// A mixed sample is the same conversation in every variant, and align train reads it back.
TEST(GeneralInstructions, SampleRoundTripsThroughTheAlignDataFormat) {
  AlignSample s;
  s.type = "sharegpt";
  s.conversation = {{"user", "q"}, {"assistant", "a"}, {"user", "q2"}, {"assistant", "a2"}};
  for (AlignVariant v : {AlignVariant::behaviour, AlignVariant::intention, AlignVariant::hybrid}) {
    EXPECT_TRUE(s.in(v));
    const AlignQuery q = AlignQuery::from_json(s.to_json(v), "x");
    ASSERT_EQ(q.conversation.size(), 4u);
    EXPECT_EQ(q.conversation[3].content, "a2");
    EXPECT_EQ(q.type, "sharegpt");
  }
  json bad = s.to_json(AlignVariant::hybrid);
  bad["conversation"].erase(bad["conversation"].begin());
  try {
    AlignQuery::from_json(bad, "h_train.json: sample 3");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("h_train.json: sample 3: 'conversation' must be"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace gavamoe
