// GGUF reader: metadata of every value type, the tensor table, and hostile files (truncated,
// lying counts/lengths/offsets/dims, unknown types, oversized strings, misalignment), each of
// which must be one gavamoe::Error line naming the file, without a crash or a huge allocation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/dequantize.hpp"
#include "gavamoe/model/gguf.hpp"
#include "gavamoe/model/gguf_header.hpp"
#include "gavamoe/model/gguf_llama.hpp"
#include "model/test_gguf_builder.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using test::GgufBuilder;
using test::patch;

const std::string kPath = "model.gguf";

GgufHeader parse(const std::string& bytes) {
  return parse_gguf_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), kPath);
}

// A small valid file: scalars of several types, arrays, two F32 tensors.
GgufBuilder small_file() {
  GgufBuilder b;
  b.kv_string("general.architecture", "llama");
  b.kv_u32("llama.block_count", 2);
  b.kv_u64("llama.context_length", 64);
  b.kv_i32("llama.attention.head_count", 4);
  b.kv_f32("llama.rope.freq_base", 10000.0f);
  b.kv_bool("tokenizer.ggml.add_bos_token", true);
  b.kv_strings("tokenizer.ggml.tokens", {"a", "b",
                                         "\xC4\xA0"
                                         "c"});
  b.kv_i32s("tokenizer.ggml.token_type", {1, 1, 3});
  b.tensor_f32("a.weight", {3, 2}, {1, 2, 3, 4, 5, 6});
  b.tensor_f32("b.weight", {4}, {-1, -2, -3, -4});
  return b;
}

// Expects `action` to throw a one-line gavamoe::Error that names `path` and contains `what`.
void expect_error(const std::function<void()>& action, const std::string& what,
                  const std::string& path = kPath) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one containing: " << what;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_LT(message.size(), 400u) << message;
  }
}

TEST(GgufReader, ReadsMetadataOfEveryKindAndTheTensorTable) {
  GgufBuilder b = small_file();
  std::string encoded;
  GgufBuilder::put(encoded, uint32_t{9});  // an array of arrays of U16
  GgufBuilder::put(encoded, uint64_t{2});
  for (uint16_t row : {7, 8}) {
    GgufBuilder::put(encoded, uint32_t{2});
    GgufBuilder::put(encoded, uint64_t{1});
    GgufBuilder::put(encoded, row);
  }
  b.kv_raw("nested", 9, encoded);
  std::string i8;
  GgufBuilder::put(i8, int8_t{-5});
  b.kv_raw("small", 1, i8);
  std::string f64;
  GgufBuilder::put(f64, 0.25);
  b.kv_raw("double", 12, f64);
  const GgufHeader header = parse(b.bytes());

  EXPECT_EQ(header.version, 3u);
  EXPECT_EQ(header.alignment, 32u);
  EXPECT_EQ(header.data_start % 32, 0u);
  const GgufMetadata& meta = header.metadata;
  EXPECT_EQ(meta.string("general.architecture"), "llama");
  EXPECT_EQ(meta.integer("llama.block_count"), 2);           // U32
  EXPECT_EQ(meta.integer("llama.context_length"), 64);       // U64
  EXPECT_EQ(meta.integer("llama.attention.head_count"), 4);  // I32
  EXPECT_EQ(meta.integer("small"), -5);
  EXPECT_DOUBLE_EQ(meta.number("llama.rope.freq_base", 0), 10000.0);
  EXPECT_DOUBLE_EQ(meta.number("double", 0), 0.25);
  EXPECT_DOUBLE_EQ(meta.number("llama.block_count", 0), 2.0);
  EXPECT_TRUE(meta.boolean("tokenizer.ggml.add_bos_token", false));
  EXPECT_EQ(meta.strings("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "b",
                                                                             "\xC4\xA0"
                                                                             "c"}));
  EXPECT_EQ(meta.integers("tokenizer.ggml.token_type"), (std::vector<int64_t>{1, 1, 3}));
  const GgufValue& nested = *meta.find("nested");
  ASSERT_EQ(nested.arrays.size(), 2u);
  EXPECT_EQ(nested.arrays[1].element_type, GgufValueType::kU16);
  EXPECT_EQ(meta.integer("missing", 9), 9);
  expect_error([&] { meta.integer("general.architecture"); }, "must be an integer");
  expect_error([&] { meta.string("missing"); }, "missing metadata key 'missing'");

  ASSERT_EQ(header.tensors.size(), 2u);
  EXPECT_EQ(header.tensors[0].name, "a.weight");
  EXPECT_EQ(header.tensors[0].shape, (std::vector<int64_t>{2, 3}));  // ne reversed
  EXPECT_EQ(header.tensors[0].nbytes, 24u);
  EXPECT_EQ(header.tensors[1].offset, 32u);
}

TEST(GgufReader, FileLoadsTensorsAsFloat) {
  const std::string dir = test::scratch_dir();
  GgufBuilder b = small_file();
  const std::vector<uint16_t> halves = {0x3C00, 0xC000, 0x0001, 0x7BFF};  // 1, -2, 2^-24, 65504
  b.tensor("h.weight", {4}, 1, std::string(reinterpret_cast<const char*>(halves.data()), 8));
  test::write_text(dir + "/m.gguf", b.bytes());
  const GgufFile file(dir + "/m.gguf");
  EXPECT_TRUE(torch::equal(file.load("a.weight"),
                           torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).view({2, 3})));
  const torch::Tensor h = file.load("h.weight");
  EXPECT_EQ(h[0].item<float>(), 1.0f);
  EXPECT_EQ(h[1].item<float>(), -2.0f);
  EXPECT_EQ(h[2].item<float>(), std::ldexp(1.0f, -24));
  EXPECT_EQ(h[3].item<float>(), 65504.0f);
  torch::Tensor into = torch::zeros({2, 3}, torch::kBFloat16);
  file.load_into("a.weight", into);
  EXPECT_EQ(into[1][2].item<float>(), 6.0f);
  expect_error(
      [&] {
        file.load_into("a.weight", torch::zeros({3, 2}));
      },
      "has shape", dir + "/m.gguf");
  expect_error([&] { file.load("nope"); }, "no tensor 'nope'", dir + "/m.gguf");
}

TEST(GgufReader, DeclaredAlignmentIsUsed) {
  GgufBuilder b = small_file();
  b.alignment = 64;
  b.kv_u32("general.alignment", 64);
  const GgufHeader header = parse(b.bytes());
  EXPECT_EQ(header.alignment, 64u);
  EXPECT_EQ(header.data_start % 64, 0u);
  EXPECT_EQ(header.tensors[1].offset, 64u);
}

TEST(GgufReader, EveryTruncationIsAnError) {
  GgufBuilder b = small_file();
  const std::string bytes = b.bytes();
  for (size_t size = 0; size < bytes.size(); ++size)
    expect_error([&] { parse(bytes.substr(0, size)); }, "");
  // The data section cut short names the tensor.
  expect_error([&] { parse(bytes.substr(0, bytes.size() - 1)); },
               "tensor 'b.weight' extends past the end of the file");
  // And through the memory-mapped reader, at a few sizes.
  const std::string dir = test::scratch_dir();
  for (size_t size : {size_t{0}, size_t{3}, size_t{20}, b.kv_at[3] + 5, b.data_start + 4}) {
    const std::string path = dir + "/cut.gguf";
    test::write_text(path, bytes.substr(0, size));
    expect_error([&] { GgufFile file(path); }, "", path);
  }
}

TEST(GgufReader, HeaderLiesAreErrors) {
  GgufBuilder b = small_file();
  const std::string good = b.bytes();
  auto with = [&](const std::function<void(std::string&)>& lie) {
    std::string bytes = good;
    lie(bytes);
    return bytes;
  };
  expect_error([&] { parse(with([&](std::string& f) { f[0] = 'X'; })); }, "not a GGUF file");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, 4, uint32_t{1}); })); },
               "version 1 is not supported");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, 4, uint32_t{3} << 24); })); },
               "big-endian");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, 4, uint32_t{4}); })); },
               "unsupported GGUF version 4");
  expect_error(
      [&] { parse(with([&](std::string& f) { patch(f, b.tensor_count_at, ~uint64_t{0}); })); },
      "tensor count");
  expect_error(
      [&] { parse(with([&](std::string& f) { patch(f, b.kv_count_at, uint64_t{1} << 40); })); },
      "metadata count");
  // A key length of 2^63, then one just past the limit.
  expect_error(
      [&] { parse(with([&](std::string& f) { patch(f, b.kv_at[0], uint64_t{1} << 63); })); },
      "at most");
  // A string value claiming 1 GiB.
  const size_t arch_value = b.kv_at[0] + 8 + std::string("general.architecture").size() + 4;
  expect_error(
      [&] { parse(with([&](std::string& f) { patch(f, arch_value, uint64_t{1} << 30); })); },
      "at most");
  // Unknown value type.
  const size_t arch_type = arch_value - 4;
  expect_error([&] { parse(with([&](std::string& f) { patch(f, arch_type, uint32_t{99}); })); },
               "unknown value type 99");
  // An array claiming 2^40 strings.
  const size_t tokens_count = b.kv_at[6] + 8 + std::string("tokenizer.ggml.tokens").size() + 4 + 4;
  expect_error(
      [&] { parse(with([&](std::string& f) { patch(f, tokens_count, uint64_t{1} << 40); })); },
      "more than the file can hold");
  // A BOOL holding 7.
  const size_t bool_value = b.kv_at[5] + 8 + std::string("tokenizer.ggml.add_bos_token").size() + 4;
  expect_error([&] { parse(with([&](std::string& f) { f[bool_value] = 7; })); }, "BOOL");
  // Tensor table lies.
  const auto& t0 = b.tensor_at[0];
  expect_error([&] { parse(with([&](std::string& f) { patch(f, t0.n_dims, uint32_t{5}); })); },
               "5 dimensions");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, t0.type, uint32_t{99}); })); },
               "unknown type 99");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, t0.type, uint32_t{2}); })); },
               "not whole Q4_0 blocks");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, t0.ne, uint64_t{1} << 40); })); },
               "extends past the end of the file");
  expect_error(
      [&] {
        parse(with([&](std::string& f) {
          patch(f, t0.ne, uint64_t{1} << 62);
          patch(f, t0.ne + 8, uint64_t{1} << 62);
        }));
      },
      "more elements than 2^63");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, t0.offset, uint64_t{4}); })); },
               "not a multiple of the alignment 32");
  expect_error([&] { parse(with([&](std::string& f) { patch(f, t0.offset, ~uint64_t{31}); })); },
               "tensor 'a.weight' extends past the end of the file");
  expect_error(
      [&] { parse(with([&](std::string& f) { patch(f, b.tensor_at[1].offset, uint64_t{0}); })); },
      "overlap");
}

TEST(GgufReader, TensorsWithoutBytesOverlapNothing) {
  // A zero-size tensor at the offset of another is accepted in either order of the table
  // (it was refused as an overlap when it came second).
  for (bool empty_first : {true, false}) {
    GgufBuilder b;
    if (empty_first) b.tensor_f32("empty", {0}, {});
    b.tensor_f32("a", {4}, {1, 2, 3, 4});
    if (!empty_first) b.tensor_f32("empty", {0}, {});
    std::string bytes = b.bytes();
    patch(bytes, b.tensor_at[empty_first ? 0 : 1].offset, uint64_t{0});
    const GgufHeader header = parse(bytes);
    ASSERT_EQ(header.tensors.size(), 2u) << empty_first;
    for (const GgufTensorInfo& tensor : header.tensors) EXPECT_EQ(tensor.offset, 0u);
  }
  // Tensors with bytes at the same offset still overlap, in either order.
  for (bool small_first : {true, false}) {
    GgufBuilder b;
    b.tensor_f32(small_first ? "small" : "large", {small_first ? 1u : 8u},
                 std::vector<float>(small_first ? 1 : 8, 1.0f));
    b.tensor_f32(small_first ? "large" : "small", {small_first ? 8u : 1u},
                 std::vector<float>(small_first ? 8 : 1, 1.0f));
    std::string bytes = b.bytes();
    patch(bytes, b.tensor_at[1].offset, uint64_t{0});
    expect_error([&] { parse(bytes); }, "overlap");
  }
}

TEST(GgufReader, StructuralLimitsAndDuplicates) {
  {
    GgufBuilder b;  // arrays nested 9 deep
    std::string encoded;
    for (int level = 0; level < 9; ++level) {
      GgufBuilder::put(encoded, uint32_t{9});
      GgufBuilder::put(encoded, uint64_t{1});
    }
    GgufBuilder::put(encoded, uint32_t{0});
    GgufBuilder::put(encoded, uint64_t{0});
    b.kv_raw("deep", 9, encoded);
    expect_error([&] { parse(b.bytes()); }, "nested deeper");
  }
  {
    GgufBuilder b;
    b.kv_u32("k", 1);
    b.kv_u32("k", 2);
    expect_error([&] { parse(b.bytes()); }, "appears twice");
  }
  {
    GgufBuilder b;
    b.tensor_f32("t", {1}, {1});
    b.tensor_f32("t", {1}, {1});
    expect_error([&] { parse(b.bytes()); }, "tensor 't' appears twice");
  }
  {
    GgufBuilder b;
    b.kv_u32("general.alignment", 24);
    expect_error([&] { parse(b.bytes()); }, "not a power of two");
  }
  {
    GgufBuilder b;
    b.kv_string("general.alignment", "32");
    expect_error([&] { parse(b.bytes()); }, "must be an integer");
  }
}

TEST(GgufReader, UnsupportedTensorTypeIsNamedWhenLoaded) {
  const std::string dir = test::scratch_dir();
  GgufBuilder b;
  b.tensor("q.weight", {256}, 16, std::string(66, '\0'));  // IQ2_XXS: one block
  test::write_text(dir + "/iq.gguf", b.bytes());
  const GgufFile file(dir + "/iq.gguf");
  expect_error([&] { file.load("q.weight"); }, "IQ2_XXS (type 16)", dir + "/iq.gguf");
  EXPECT_FALSE(can_dequantize(16));
}

TEST(GgufReader, WrongArchitectureIsNamed) {
  const std::string dir = test::scratch_dir();
  GgufBuilder b;
  b.kv_string("general.architecture", "qwen2");
  test::write_text(dir + "/q.gguf", b.bytes());
  expect_error([&] { gguf_llama_config(GgufFile(dir + "/q.gguf")); },
               "architecture 'qwen2' is not supported", dir + "/q.gguf");
}

TEST(GgufReader, RopeScalingIsRefused) {
  const std::string dir = test::scratch_dir();
  GgufBuilder b;
  b.kv_string("general.architecture", "llama");
  for (const char* key : {"llama.embedding_length", "llama.block_count",
                          "llama.feed_forward_length", "llama.attention.head_count"})
    b.kv_u32(key, 4);
  b.tensor_f32("rope_freqs.weight", {1}, {1});
  test::write_text(dir + "/r.gguf", b.bytes());
  expect_error([&] { gguf_llama_config(GgufFile(dir + "/r.gguf")); }, "rope_freqs.weight",
               dir + "/r.gguf");
}

}  // namespace
}  // namespace gavamoe
