// Safetensors reader and writer: round trips for every dtype, files from Python's reference
// `safetensors` package both ways, and corrupt files that must fail with a clear error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

using test::read_text;
using test::scratch_dir;
using test::write_text;

std::map<std::string, torch::Tensor> one_tensor_per_dtype() {
  torch::manual_seed(3);
  const torch::Tensor values = torch::randn({3, 5}) * 50;
  return {{"f32", values},
          {"f16", values.to(torch::kFloat16)},
          {"bf16", values.to(torch::kBFloat16)},
          {"f64", values.to(torch::kFloat64)},
          {"i64", values.to(torch::kInt64)},
          {"i32", values.to(torch::kInt32).t()},  // not contiguous
          {"i8", values.to(torch::kInt8).reshape({15})},
          {"u8", values.abs().to(torch::kUInt8).reshape({1, 3, 5})},
          {"bool", values.gt(0)},
          {"scalar", torch::tensor(7.5)},
          {"empty", torch::zeros({0, 4})}};
}

TEST(Safetensors, RoundTripKeepsEveryDtypeAndByte) {
  const std::string dir = scratch_dir();
  const auto tensors = one_tensor_per_dtype();
  write_safetensors(dir + "/a.safetensors", tensors, {{"format", "pt"}});

  SafetensorsReader reader(dir + "/a.safetensors");
  EXPECT_EQ(reader.names().size(), tensors.size());
  EXPECT_EQ(reader.metadata().at("format"), "pt");
  std::map<std::string, torch::Tensor> loaded;
  for (const auto& [name, tensor] : tensors) {
    ASSERT_TRUE(reader.contains(name));
    loaded[name] = reader.load(name);
    EXPECT_EQ(loaded[name].scalar_type(), tensor.scalar_type()) << name;
    EXPECT_EQ(loaded[name].sizes(), tensor.sizes()) << name;
    EXPECT_TRUE(torch::equal(loaded[name], tensor)) << name;
  }
  write_safetensors(dir + "/b.safetensors", loaded, {{"format", "pt"}});
  EXPECT_EQ(read_text(dir + "/a.safetensors"), read_text(dir + "/b.safetensors"));
}

TEST(Safetensors, LoadIntoConvertsDtypeAndChecksShape) {
  const std::string dir = scratch_dir();
  const torch::Tensor values = torch::randn({4, 6}).to(torch::kBFloat16);
  write_safetensors(dir + "/w.safetensors", {{"w", values}});
  SafetensorsReader reader(dir + "/w.safetensors");
  torch::Tensor destination = torch::empty({4, 6});
  reader.load_into("w", destination);
  EXPECT_TRUE(torch::equal(destination, values.to(torch::kFloat32)));
  torch::Tensor wrong = torch::empty({6, 4});
  EXPECT_THROW(reader.load_into("w", wrong), Error);
  EXPECT_THROW(reader.load("missing"), Error);
}

// Runs a Python script with the venv; skips the test when there is no venv.
#define RUN_VENV_PYTHON(script, dir)                                                  \
  do {                                                                                \
    const std::string python = test::venv_python();                                   \
    if (python.empty()) GTEST_SKIP() << "no test venv: Python cross-check skipped";   \
    write_text(dir + "/check.py", script);                                            \
    const auto result =                                                               \
        test::run_command(test::quote(python) + " " + dir + "/check.py " + dir, dir); \
    ASSERT_EQ(result.exit_code, 0) << result.out << result.err;                       \
  } while (0)

TEST(Safetensors, ReadsFileWrittenByPythonSafetensors) {
  const std::string dir = scratch_dir();
  RUN_VENV_PYTHON(R"(
import sys, torch
from safetensors.torch import save_file
v = torch.arange(-6, 6, dtype=torch.float64).reshape(3, 4) * 1.5
save_file({"f32": v.float(), "f16": v.half(), "bf16": v.bfloat16(), "f64": v,
           "i64": v.long(), "i32": v.int(), "i8": v.to(torch.int8),
           "u8": v.abs().to(torch.uint8), "bool": v > 0},
          sys.argv[1] + "/py.safetensors", metadata={"source": "python"})
)",
                  dir);
  SafetensorsReader reader(dir + "/py.safetensors");
  EXPECT_EQ(reader.metadata().at("source"), "python");
  const torch::Tensor v = torch::arange(-6, 6, torch::kFloat64).reshape({3, 4}) * 1.5;
  const std::map<std::string, torch::Tensor> expected = {{"f32", v.to(torch::kFloat32)},
                                                         {"f16", v.to(torch::kFloat16)},
                                                         {"bf16", v.to(torch::kBFloat16)},
                                                         {"f64", v},
                                                         {"i64", v.to(torch::kInt64)},
                                                         {"i32", v.to(torch::kInt32)},
                                                         {"i8", v.to(torch::kInt8)},
                                                         {"u8", v.abs().to(torch::kUInt8)},
                                                         {"bool", v.gt(0)}};
  for (const auto& [name, tensor] : expected) {
    const torch::Tensor loaded = reader.load(name);
    EXPECT_EQ(loaded.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(loaded, tensor)) << name;
  }
}

TEST(Safetensors, PythonSafetensorsReadsOurFile) {
  const std::string dir = scratch_dir();
  const torch::Tensor v = torch::arange(-6, 6, torch::kFloat64).reshape({3, 4}) * 1.5;
  write_safetensors(dir + "/ours.safetensors",
                    {{"bf16", v.to(torch::kBFloat16)},
                     {"i32", v.to(torch::kInt32)},
                     {"bool", v.gt(0)},
                     {"f32", v.to(torch::kFloat32)}},
                    {{"source", "gavamoe"}});
  RUN_VENV_PYTHON(R"(
import sys, torch
from safetensors import safe_open
v = torch.arange(-6, 6, dtype=torch.float64).reshape(3, 4) * 1.5
with safe_open(sys.argv[1] + "/ours.safetensors", "pt") as f:
    assert f.metadata() == {"source": "gavamoe"}, f.metadata()
    assert torch.equal(f.get_tensor("bf16"), v.bfloat16())
    assert torch.equal(f.get_tensor("i32"), v.int())
    assert torch.equal(f.get_tensor("bool"), v > 0)
    assert torch.equal(f.get_tensor("f32"), v.float())
)",
                  dir);
}

// A file made of a raw header length, header text and data bytes.
std::string raw_file(uint64_t header_length, const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(header_length >> (8 * i));
  return bytes + header + std::string(data_bytes, '\0');
}

std::string raw_file(const std::string& header, size_t data_bytes) {
  return raw_file(header.size(), header, data_bytes);
}

// Writes `bytes`, opens them, and expects an Error naming the file and containing `expected`.
void expect_rejected(const std::string& dir, const std::string& name, const std::string& bytes,
                     const std::string& expected) {
  const std::string path = dir + "/" + name + ".safetensors";
  write_text(path, bytes);
  try {
    SafetensorsReader reader(path);
    ADD_FAILURE() << name << ": accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << name << ": " << message;
    EXPECT_NE(message.find(expected), std::string::npos) << name << ": " << message;
  }
}

TEST(Safetensors, TruncatedFilesAreRejected) {
  const std::string dir = scratch_dir();
  write_safetensors(dir + "/good.safetensors", {{"w", torch::ones({8, 8})}});
  const std::string good = read_text(dir + "/good.safetensors");
  for (size_t length :
       {size_t{0}, size_t{5}, size_t{8}, size_t{20}, good.size() - 256, good.size() - 1})
    expect_rejected(dir, "cut" + std::to_string(length), good.substr(0, length),
                    length < 8                   ? "too short"
                    : length < good.size() - 256 ? "header length"
                                                 : "past the data");
}

TEST(Safetensors, CorruptHeadersAreRejected) {
  const std::string dir = scratch_dir();
  const std::string w = R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  expect_rejected(dir, "huge_header", raw_file(uint64_t{1} << 62, "{}", 0), "exceeds the limit");
  expect_rejected(dir, "bad_json", raw_file("{\"w\":{", 16), "invalid JSON");
  expect_rejected(dir, "not_object", raw_file("[1,2]", 0), "not an object");
  expect_rejected(dir, "deep", raw_file(std::string(5000, '[') + std::string(5000, ']'), 0),
                  "nested too deeply");
  expect_rejected(dir, "unknown_dtype",
                  raw_file(R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", 2),
                  "unknown dtype");
  expect_rejected(dir, "missing_key", raw_file(R"({"w":{"dtype":"F32","shape":[1]}})", 4),
                  "missing \"data_offsets\"");
  expect_rejected(dir, "negative_dim",
                  raw_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                  "non-negative");
  expect_rejected(dir, "past_end", raw_file("{" + w + "}", 12), "past the data section");
  expect_rejected(dir, "shape_mismatch",
                  raw_file(R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", 16),
                  "need 24");
  expect_rejected(
      dir, "overflow",
      raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
      "too large");
  expect_rejected(
      dir, "overlap",
      raw_file("{" + w + R"(,"v":{"dtype":"I32","shape":[2],"data_offsets":[8,16]}})", 16),
      "overlap");
  expect_rejected(dir, "bad_metadata", raw_file(R"({"__metadata__":{"a":1}})", 0), "not a string");
}

TEST(Safetensors, InvalidBoolBytesFailOnLoad) {
  const std::string dir = scratch_dir();
  const std::string path = dir + "/b.safetensors";
  write_text(path, raw_file(R"({"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", 0) +
                       std::string("\x01\x07"));
  SafetensorsReader reader(path);
  EXPECT_THROW(reader.load("b"), Error);
}

}  // namespace
}  // namespace gavamoe
