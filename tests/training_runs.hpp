// Helpers of the training tests that compare run folders: the lines of a run's train_log.jsonl
// and the largest difference between two safetensors files of the same tensors.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gavamoe/model/safetensors.hpp"
#include "test_util.hpp"

namespace gavamoe::test {

inline std::vector<nlohmann::json> log_lines(const std::string& run_dir) {
  std::istringstream in(read_text(run_dir + "/train_log.jsonl"));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

inline std::map<std::string, torch::Tensor> read_weights(const std::string& path) {
  const SafetensorsReader reader(path);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& name : reader.names()) weights[name] = reader.load(name);
  return weights;
}

inline double max_difference(const std::string& a, const std::string& b) {
  const auto wa = read_weights(a), wb = read_weights(b);
  EXPECT_EQ(wa.size(), wb.size());
  double worst = 0;
  for (const auto& [name, t] : wa)
    worst = std::max(worst, (t - wb.at(name)).abs().max().item<double>());
  return worst;
}

// Two runs of the shared training loop (training_loop.hpp) took the same steps: the same log
// lines with their training losses and validation scores within `tolerance`, and the weights
// file `weights` of both run folders within `tolerance`.
inline void expect_same_training(const std::string& a_run, const std::string& b_run,
                                 const std::string& weights, double tolerance) {
  const auto a = log_lines(a_run), b = log_lines(b_run);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    const char* key = a[k].contains("loss") && a[k].contains("lr") ? "loss" : "val";
    EXPECT_EQ(a[k].at("step"), b[k].at("step")) << "line " << k;
    EXPECT_NEAR(a[k].at(key).get<double>(), b[k].at(key).get<double>(), tolerance) << "line " << k;
  }
  EXPECT_LT(max_difference(a_run + "/" + weights, b_run + "/" + weights), tolerance);
}

}  // namespace gavamoe::test
