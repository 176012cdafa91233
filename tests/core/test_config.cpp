// RunConfig: defaults, file merge, --set overrides and their errors.
#include <gtest/gtest.h>

#include "gavamoe/core/config.hpp"
#include "gavamoe/core/error.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, DefaultsHaveEverySection) {
  RunConfig config;
  for (const char* section : {"data", "vae", "train", "infer"})
    EXPECT_TRUE(config.values().contains(section)) << section;
  EXPECT_EQ(config.get<int>("train.max_length"), 180);
}

TEST(RunConfig, SetParsesJsonValuesAndStrings) {
  RunConfig config;
  config.set("train.lr=3e-4");
  config.set("train.gating=soft");
  config.set("train.bf16=true");
  config.set("train.moe_layers=[0,2]");
  config.set("vae.clusters=5");
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 3e-4);
  EXPECT_EQ(config.get<std::string>("train.gating"), "soft");
  EXPECT_TRUE(config.get<bool>("train.bf16"));
  EXPECT_EQ(config.get<std::vector<int>>("train.moe_layers"), (std::vector<int>{0, 2}));
  EXPECT_EQ(config.get<int>("vae.clusters"), 5);
}

TEST(RunConfig, IntegerIsAcceptedWhereAFloatIsExpected) {
  RunConfig config;
  config.set("train.lr=1");
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 1.0);
}

TEST(RunConfig, ErrorsNameTheKey) {
  RunConfig config;
  EXPECT_NE(error_of([&] { config.set("train.no_such_key=1"); }).find("train.no_such_key"),
            std::string::npos);
  EXPECT_NE(error_of([&] { config.set("nosection.x=1"); }).find("nosection"), std::string::npos);
  const std::string wrong_type = error_of([&] { config.set("vae.clusters=2.5"); });
  EXPECT_NE(wrong_type.find("vae.clusters"), std::string::npos);
  EXPECT_NE(wrong_type.find("integer"), std::string::npos);
  EXPECT_NE(error_of([&] { config.set("train.bf16=yes"); }).find("boolean"), std::string::npos);
  EXPECT_NE(error_of([&] { config.set("novalue"); }).find("section.key=value"), std::string::npos);
  EXPECT_NE(error_of([&] { config.set("a.b.c=1"); }).find("section.key=value"), std::string::npos);
}

TEST(RunConfig, DefaultsAreInRange) {
  for (const auto& [section, keys] : run_config_defaults().items())
    for (const auto& [key, value] : keys.items())
      EXPECT_NO_THROW(check_config_value(section + "." + key, value, "defaults")) << key;
  EXPECT_NO_THROW(RunConfig().check("defaults"));
}

TEST(RunConfig, MeaninglessValuesAreErrorsNamingTheOriginKeyAndRange) {
  RunConfig config;
  EXPECT_EQ(error_of([&] { config.set("train.lr=0"); }),
            "--set train.lr=0: config key 'train.lr' must be greater than 0, got 0");
  EXPECT_EQ(error_of([&] { config.set("data.split=6"); }),
            "--set data.split=6: config key 'data.split' must be from 1 to 5, got 6");
  EXPECT_EQ(error_of([&] { config.set("infer.top_p=1.5"); }),
            "--set infer.top_p=1.5: config key 'infer.top_p' must be greater than 0 and at most 1, "
            "got 1.5");
  EXPECT_EQ(error_of([&] { config.set("rec.device=tpu"); }),
            "--set rec.device=tpu: config key 'rec.device' must be auto, cpu or cuda, got \"tpu\"");
  EXPECT_NE(error_of([&] {
              config.set("train.moe_layers=[0,-1]");
            }).find("'train.moe_layers' must be a list of values at least 0, got [0,-1]"),
            std::string::npos);
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 1e-3);  // a refused value is not kept

  config.set("train.n_experts=2");
  EXPECT_EQ(error_of([&] { config.check("train"); }), "");
  config.set("train.top_k=3");
  EXPECT_EQ(error_of([&] { config.check("train"); }),
            "train: config key 'train.top_k' (3) must be at most train.n_experts (2)");
}

TEST(RunConfig, MergeFileAndItsErrors) {
  const std::string dir = test::scratch_dir();
  const std::string good = dir + "/good.json";
  test::write_text(good, R"({"description": "x", "train": {"epochs": 3}, "vae": {"clusters": 6}})");
  RunConfig config;
  config.merge_file(good);
  EXPECT_EQ(config.get<int>("train.epochs"), 3);
  EXPECT_EQ(config.get<int>("vae.clusters"), 6);

  const std::string unknown = dir + "/unknown.json";
  test::write_text(unknown, R"({"train": {"epoch": 3}})");
  const std::string message = error_of([&] { RunConfig().merge_file(unknown); });
  EXPECT_NE(message.find(unknown), std::string::npos);
  EXPECT_NE(message.find("train.epoch"), std::string::npos);

  const std::string broken = dir + "/broken.json";
  test::write_text(broken, R"({"train": {"epochs": )");
  EXPECT_NE(error_of([&] { RunConfig().merge_file(broken); }).find("invalid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([&] { RunConfig().merge_file(dir + "/missing.json"); }).find("no such file"),
            std::string::npos);

  // A number beyond double range is a parse error of that file, not an internal error.
  const std::string overflow = dir + "/overflow.json";
  test::write_text(overflow, R"({"train": {"lr": 1e309}})");
  EXPECT_EQ(error_of([&] { RunConfig().merge_file(overflow); }),
            overflow + ": invalid JSON (a number is out of range)");
}

TEST(RunConfig, WrittenConfigReadsBackIdentically) {
  const std::string dir = test::scratch_dir();
  RunConfig config;
  config.set("infer.temperature=0.9");
  config.write(dir + "/config.json");
  RunConfig reread;
  reread.merge_file(dir + "/config.json");
  EXPECT_EQ(reread.values(), config.values());
}

}  // namespace
}  // namespace gavamoe
