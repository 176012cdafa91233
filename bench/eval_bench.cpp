// eval_bench: time every `gavamoe eval` metric on 20k explanation pairs, one thread.
//
// Usage: eval_bench [N]   (needs GAVAMOE_DATASETS; N defaults to 20000)
// The pairs are built from the PETER/PEPLER sample sentences exactly as
// bench/eval_python_baseline.py builds them (see make_rows), so the two programs time the same
// work and must print the same metrics. Prints one bench_row.hpp row; the metrics JSON goes to
// stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_row.hpp"
#include "gavamoe/eval/evaluate.hpp"

namespace {

struct Sample {
  std::vector<std::string> words;  // the review split on whitespace
  std::string review, feature;
  double rating;
};

std::vector<Sample> read_samples(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "eval_bench: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::vector<Sample> samples;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto object = nlohmann::json::parse(line);
    Sample s;
    s.review = object["review"];
    s.feature = object["feature"];
    s.rating = object["label"];
    std::istringstream words(s.review);
    for (std::string w; words >> w;) s.words.push_back(w);
    samples.push_back(std::move(s));
  }
  return samples;
}

// Row i: the reference is sample i mod S; the generation splices the first k words of sample
// (7i) mod S onto the words after position k of sample (13i+5) mod S, k = i mod 7 + 2.
gavamoe::eval::Predictions make_rows(const std::vector<Sample>& samples, size_t n) {
  gavamoe::eval::Predictions rows;
  rows.has_feature = rows.has_rating = rows.has_predicted_rating = true;
  const size_t s = samples.size();
  for (size_t i = 0; i < n; ++i) {
    const Sample& ref = samples[i % s];
    const auto& head = samples[(7 * i) % s].words;
    const auto& tail = samples[(13 * i + 5) % s].words;
    const size_t k = i % 7 + 2;
    std::string generated;
    for (size_t j = 0; j < std::min(k, head.size()); ++j) generated += (j ? " " : "") + head[j];
    for (size_t j = k; j < tail.size(); ++j) generated += (generated.empty() ? "" : " ") + tail[j];
    rows.reference.push_back(ref.review);
    rows.generated.push_back(generated);
    rows.feature.push_back(ref.feature);
    rows.rating.push_back(ref.rating);
    rows.predicted_rating.push_back(ref.rating + (static_cast<int>((i * 7) % 11) - 5) * 0.45);
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  const char* datasets = std::getenv("GAVAMOE_DATASETS");
  if (!datasets) {
    std::fprintf(stderr, "eval_bench: set GAVAMOE_DATASETS (it must hold peter_samples/)\n");
    return 2;
  }
  std::vector<Sample> samples =
      read_samples(std::string(datasets) + "/peter_samples/tripadvisor_test_head.jsonl");
  for (Sample& s : read_samples(std::string(datasets) + "/peter_samples/movies_test_head.jsonl"))
    samples.push_back(std::move(s));
  const gavamoe::eval::Predictions rows = make_rows(samples, n);

  // Best of 5 runs: tokenisation and every metric, as `gavamoe eval` runs them.
  double best = 1e30;
  nlohmann::ordered_json metrics;
  for (int run = 0; run < 5; ++run) {
    const auto start = std::chrono::steady_clock::now();
    metrics = gavamoe::eval::evaluate(rows);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count());
  }
  gavamoe::bench::print_row("eval", "all metrics, " + std::to_string(n) + " pairs, 1 thread",
                            n / best, "pairs/s");
  std::fprintf(stderr, "%s\n", metrics.dump().c_str());
  return 0;
}
