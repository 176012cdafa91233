// Every config shipped in configs/ is valid: run configs merge over the defaults, model configs
// are Hugging Face config.json objects.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/config.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

TEST(ConfigsFolder, EveryConfigIsValid) {
  int run_configs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("configs"))) {
    const std::string path = entry.path().string();
    if (entry.path().extension() != ".json") continue;
    if (entry.path().filename().string().rfind("model-", 0) == 0) {
      const auto model = nlohmann::json::parse(read_file(path));
      EXPECT_EQ(model.value("model_type", ""), "llama") << path;
      EXPECT_TRUE(model.contains("hidden_size")) << path;
      continue;
    }
    RunConfig config;
    EXPECT_NO_THROW(config.merge_file(path)) << path;
    ++run_configs;
  }
  EXPECT_GE(run_configs, 2);
}

}  // namespace
}  // namespace gavamoe
