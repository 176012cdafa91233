// Dequantisation of every supported ggml block format equals gguf-py's gguf.quants.dequantize
// bit for bit, on random blocks (tests/golden/make_gguf_dequant_cases.py writes the blocks and
// the expected floats at test time).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/dequantize.hpp"
#include "gavamoe/model/gguf_header.hpp"
#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

TEST(GgufDequantize, EveryFormatEqualsGgufPyBitForBit) {
  const std::string python = test::venv_python();
  if (python.empty()) GTEST_SKIP() << "no venv python (GAVAMOE_PYTHON): gguf-py check skipped";
  const std::string dir = test::scratch_dir();
  const test::CommandResult made = test::run_command(
      python + " " + test::source_path("tests/golden/make_gguf_dequant_cases.py") + " " + dir, dir);
  if (made.exit_code != 0 && made.err.find("No module named") != std::string::npos)
    GTEST_SKIP() << "the venv lacks numpy or gguf: " << made.err;
  ASSERT_EQ(made.exit_code, 0) << made.err;

  const std::vector<std::pair<std::string, uint32_t>> types = {
      {"F32", 0},  {"F16", 1},  {"BF16", 30}, {"Q8_0", 8},  {"Q4_0", 2}, {"Q4_1", 3},
      {"Q5_0", 6}, {"Q5_1", 7}, {"Q4_K", 12}, {"Q5_K", 13}, {"Q6_K", 14}};
  for (const auto& [name, type] : types) {
    SCOPED_TRACE(name);
    const std::string blocks = test::read_text(dir + "/" + name + ".bin");
    const std::string expected = test::read_text(dir + "/" + name + ".f32");
    const GgmlTypeInfo* info = ggml_type_info(type);
    ASSERT_NE(info, nullptr);
    ASSERT_TRUE(can_dequantize(type));
    const int64_t count = static_cast<int64_t>(expected.size() / 4);
    ASSERT_EQ(static_cast<int64_t>(blocks.size()), count / info->block_size * info->type_size);
    std::vector<float> out(static_cast<size_t>(count));
    dequantize(type, reinterpret_cast<const uint8_t*>(blocks.data()), count, out.data());
    size_t mismatches = 0, first = 0;
    for (int64_t i = 0; i < count; ++i)
      if (std::memcmp(&out[i], expected.data() + 4 * i, 4) != 0 && mismatches++ == 0) first = i;
    float want = 0;
    std::memcpy(&want, expected.data() + 4 * first, 4);
    EXPECT_EQ(mismatches, 0u) << "first at element " << first << ": " << out[first] << " vs "
                              << want;
  }
}

TEST(GgufDequantize, HalfConversionIsExact) {
  EXPECT_EQ(half_to_float(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(half_to_float(0x03FF), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(half_to_float(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(half_to_float(0xFBFF), -65504.0f);
  EXPECT_TRUE(std::isinf(half_to_float(0x7C00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
}

TEST(GgufDequantize, UnsupportedTypesAreNamed) {
  std::vector<uint8_t> block(66);
  std::vector<float> out(256);
  try {
    dequantize(16, block.data(), 256, out.data());
    FAIL() << "IQ2_XXS was dequantised";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("IQ2_XXS (type 16)"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(can_dequantize(10));  // Q2_K
  EXPECT_FALSE(can_dequantize(99));
}

}  // namespace
}  // namespace gavamoe
