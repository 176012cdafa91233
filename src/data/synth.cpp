// Synthetic dataset with planted user groups (see synth.hpp for the generative story).
//
// Word pools are split between groups by a seeded permutation, so groups share as few
// adjectives, intensifiers, templates and preferred features as the pools allow. Random
// numbers: uniform = top 53 bits of mt19937_64, normal = Box-Muller, shuffles = our own
// Fisher-Yates; none of the implementation-defined std distributions are used.
#include "gavamoe/data/synth.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/strings.hpp"
#include "gavamoe/data/jsonl.hpp"

namespace gavamoe {
namespace {

const std::vector<std::string> kFeatures = {
    "sound",   "tone", "strings", "neck",  "frets",      "tuning",     "pickups", "volume",
    "price",   "case", "cable",   "pedal", "finish",     "weight",     "knobs",   "battery",
    "display", "keys", "bridge",  "strap", "headphones", "microphone", "amp",     "action"};

const std::vector<std::string> kPositiveAdjectives = {
    "great",     "excellent",   "warm",     "crisp",      "solid",     "smooth",   "sturdy",
    "reliable",  "clear",       "rich",     "balanced",   "punchy",    "lovely",   "superb",
    "fantastic", "comfortable", "accurate", "responsive", "sleek",     "durable",  "elegant",
    "decent",    "impressive",  "stable",   "precise",    "vibrant",   "gorgeous", "sweet",
    "nice",      "wonderful",   "perfect",  "awesome",    "brilliant", "tight",    "clean",
    "pleasant",  "handy",       "robust",   "lush",       "refined"};

const std::vector<std::string> kNegativeAdjectives = {
    "flimsy",  "tinny",      "harsh",    "noisy",    "weak",          "dull",     "muddy",
    "cheap",   "awful",      "poor",     "shaky",    "sloppy",        "fragile",  "buzzy",
    "stiff",   "unreliable", "clunky",   "terrible", "disappointing", "mediocre", "uneven",
    "muffled", "scratchy",   "loose",    "wobbly",   "flaky",         "thin",     "lifeless",
    "boomy",   "awkward",    "bland",    "rough",    "inaccurate",    "sluggish", "brittle",
    "faulty",  "horrible",   "annoying", "lousy",    "crackly"};

const std::vector<std::string> kIntensifiers = {"really",     "very",       "quite",     "pretty",
                                                "super",      "truly",      "rather",    "fairly",
                                                "incredibly", "remarkably", "seriously", "totally"};

// {f}: feature, {a}: adjective, {i}: optional intensifier followed by a space.
const std::vector<std::string> kTemplates = {"the {f} is {i}{a}",
                                             "{i}{a} {f} on this one",
                                             "i found the {f} {i}{a}",
                                             "the {f} feels {i}{a}",
                                             "what a {i}{a} {f}",
                                             "honestly the {f} is {i}{a}",
                                             "the {f} turned out {i}{a}",
                                             "{i}{a} {f} overall",
                                             "the {f} on this is {i}{a}",
                                             "you get a {i}{a} {f}",
                                             "the {f} is {i}{a} and it shows",
                                             "the {f} seemed {i}{a} to me",
                                             "as for the {f}, it is {i}{a}",
                                             "the {f} came across as {i}{a}",
                                             "i would call the {f} {i}{a}",
                                             "a {i}{a} {f} for sure",
                                             "the {f} here is {i}{a}",
                                             "this one has a {i}{a} {f}",
                                             "in terms of {f} it is {i}{a}",
                                             "the {f} proved {i}{a}",
                                             "the {f} looks and feels {i}{a}",
                                             "{i}{a} {f}, no doubt about it",
                                             "my take: the {f} is {i}{a}",
                                             "the {f} stays {i}{a} after weeks of use"};

constexpr int kLatentDim = 8;
constexpr double kRatingScale = 1.5;  // rating points per unit of affinity
constexpr double kUserBiasSd = 0.25;
constexpr double kNoiseSd = 0.5;
constexpr double kChoiceSharpness = 0.8;  // items are picked in proportion to exp(this * affinity)
constexpr double kPreferredFeatureWeight = 8.0;  // relative to 1 for every other feature
constexpr int kFeaturesPerGroup = 6;
constexpr int kAdjectivesPerGroup = 5;
constexpr int kTemplatesPerGroup = 4;
constexpr int kIntensifiersPerGroup = 2;

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  int below(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  int categorical(const std::vector<double>& weights, double total) {
    double target = uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      target -= weights[i];
      if (target < 0) return static_cast<int>(i);
    }
    return static_cast<int>(weights.size()) - 1;
  }
  template <typename T>
  void shuffle(std::vector<T>& values) {
    for (int i = static_cast<int>(values.size()) - 1; i > 0; --i)
      std::swap(values[i], values[below(i + 1)]);
  }

 private:
  std::mt19937_64 engine_;
};

// Group g's share of a pool: `count` consecutive entries of a permutation, wrapping around.
std::vector<std::string> group_slice(const std::vector<std::string>& permuted, int group,
                                     int count) {
  std::vector<std::string> slice;
  for (int k = 0; k < count; ++k) slice.push_back(permuted[(group * count + k) % permuted.size()]);
  return slice;
}

struct Group {
  std::vector<double> preference;  // kLatentDim
  std::vector<double> feature_weights;
  double feature_total = 0;
  std::vector<std::string> positive, negative, intensifiers, templates;
};

std::vector<std::string> permuted(std::vector<std::string> pool, Random& random) {
  random.shuffle(pool);
  return pool;
}

std::vector<Group> make_groups(int clusters, Random& random) {
  const auto features = permuted(kFeatures, random);
  const auto positive = permuted(kPositiveAdjectives, random);
  const auto negative = permuted(kNegativeAdjectives, random);
  const auto intensifiers = permuted(kIntensifiers, random);
  const auto templates = permuted(kTemplates, random);
  std::vector<Group> groups(clusters);
  for (int g = 0; g < clusters; ++g) {
    Group& group = groups[g];
    for (int d = 0; d < kLatentDim; ++d) group.preference.push_back(random.normal());
    const auto preferred = group_slice(features, g, kFeaturesPerGroup);
    for (const std::string& feature : kFeatures) {
      const bool liked = std::find(preferred.begin(), preferred.end(), feature) != preferred.end();
      group.feature_weights.push_back(liked ? kPreferredFeatureWeight : 1.0);
      group.feature_total += group.feature_weights.back();
    }
    group.positive = group_slice(positive, g, kAdjectivesPerGroup);
    group.negative = group_slice(negative, g, kAdjectivesPerGroup);
    group.intensifiers = group_slice(intensifiers, g, kIntensifiersPerGroup);
    group.templates = group_slice(templates, g, kTemplatesPerGroup);
  }
  return groups;
}

// "a excellent" -> "an excellent".
std::string fix_articles(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    const bool word_a = text[i] == 'a' && (i == 0 || text[i - 1] == ' ') && i + 2 < text.size() &&
                        text[i + 1] == ' ';
    if (word_a && std::string("aeiou").find(text[i + 2]) != std::string::npos) out += 'n';
  }
  return out;
}

std::string sentence(const Group& group, const std::string& feature, const std::string& adjective,
                     Random& random) {
  std::string text = group.templates[random.below(static_cast<int>(group.templates.size()))];
  const bool intensify = random.uniform() < 0.5;
  const std::string intensifier =
      intensify
          ? group.intensifiers[random.below(static_cast<int>(group.intensifiers.size()))] + " "
          : "";
  text = replace_all(text, "{f}", feature);
  text = replace_all(text, "{a}", adjective);
  text = replace_all(text, "{i}", intensifier);
  return fix_articles(text);
}

std::string padded_id(char prefix, int64_t number, int64_t count) {
  const int width = std::max<int>(4, static_cast<int>(std::to_string(count).size()));
  std::string digits = std::to_string(number);
  return prefix + std::string(width - std::min<int>(width, digits.size()), '0') + digits;
}

void check_at_least(const char* option, int64_t value, int64_t minimum) {
  if (value < minimum)
    throw Error(std::string(option) + " must be at least " + std::to_string(minimum) + ", got " +
                std::to_string(value));
}

}  // namespace

SynthDataset make_synthetic_dataset(const SynthOptions& options) {
  check_at_least("--users", options.users, 1);
  check_at_least("--items", options.items, 2);
  check_at_least("--clusters", options.clusters, 1);
  check_at_least("--records", options.records, 1);
  if (options.clusters > options.users)
    throw Error("--clusters (" + std::to_string(options.clusters) + ") must not exceed --users (" +
                std::to_string(options.users) + ")");
  const int64_t max_records = static_cast<int64_t>(options.users) * options.items / 2;
  if (options.records > max_records)
    throw Error("--records must be at most users * items / 2 = " + std::to_string(max_records) +
                " (each user rates an item once), got " + std::to_string(options.records));

  Random random(options.seed);
  const std::vector<Group> groups = make_groups(options.clusters, random);
  std::vector<std::vector<double>> item_vectors(options.items);
  for (auto& vector : item_vectors)
    for (int d = 0; d < kLatentDim; ++d) vector.push_back(random.normal());

  // Affinity of each group for each item, and the item choice weights it implies.
  std::vector<std::vector<double>> affinity(options.clusters, std::vector<double>(options.items));
  std::vector<std::vector<double>> choice(options.clusters, std::vector<double>(options.items));
  std::vector<double> choice_total(options.clusters, 0.0);
  for (int g = 0; g < options.clusters; ++g) {
    for (int i = 0; i < options.items; ++i) {
      double dot = 0;
      for (int d = 0; d < kLatentDim; ++d) dot += groups[g].preference[d] * item_vectors[i][d];
      affinity[g][i] = dot / std::sqrt(static_cast<double>(kLatentDim));
      choice[g][i] = std::exp(kChoiceSharpness * affinity[g][i]);
      choice_total[g] += choice[g][i];
    }
  }

  // Balanced groups in shuffled order; a bias per user.
  std::vector<int> user_group(options.users);
  for (int u = 0; u < options.users; ++u) user_group[u] = u % options.clusters;
  random.shuffle(user_group);
  std::vector<double> user_bias(options.users);
  for (double& bias : user_bias) bias = kUserBiasSd * random.normal();

  // Every user appears once (in shuffled order) before users are drawn at random.
  std::vector<int> first_round(options.users);
  for (int u = 0; u < options.users; ++u) first_round[u] = u;
  random.shuffle(first_round);

  std::vector<std::set<int>> rated(options.users);
  std::vector<int64_t> user_rank(options.users, -1), item_rank(options.items, -1);
  int64_t n_users_seen = 0, n_items_seen = 0;
  SynthDataset dataset;
  for (int r = 0; r < options.records; ++r) {
    const int u = r < options.users ? first_round[r] : random.below(options.users);
    const int g = user_group[u];
    int i = random.categorical(choice[g], choice_total[g]);
    while (rated[u].count(i)) i = random.categorical(choice[g], choice_total[g]);
    rated[u].insert(i);

    const double raw =
        3.0 + kRatingScale * affinity[g][i] + user_bias[u] + kNoiseSd * random.normal();
    const int rating = static_cast<int>(std::clamp(std::round(raw), 1.0, 5.0));
    const int sentiment = rating >= 3 ? 1 : -1;
    const Group& group = groups[g];
    const std::string& feature =
        kFeatures[random.categorical(group.feature_weights, group.feature_total)];
    const auto& adjectives = sentiment > 0 ? group.positive : group.negative;
    const std::string& adjective = adjectives[random.below(static_cast<int>(adjectives.size()))];

    if (user_rank[u] < 0) {
      user_rank[u] = n_users_seen++;
      dataset.user_groups.emplace_back(padded_id('u', user_rank[u] + 1, options.users), g);
    }
    if (item_rank[i] < 0) item_rank[i] = n_items_seen++;
    Record record;
    record.user = padded_id('u', user_rank[u] + 1, options.users);
    record.item = padded_id('i', item_rank[i] + 1, options.items);
    record.rating = rating;
    record.feature = feature;
    record.adjective = adjective;
    record.explanation = sentence(group, feature, adjective, random);
    record.sentiment = sentiment;
    record.has_text = true;
    dataset.records.push_back(std::move(record));
  }
  return dataset;
}

std::string user_groups_jsonl(const SynthDataset& dataset) {
  std::string text;
  for (const auto& [user, group] : dataset.user_groups)
    text += nlohmann::json{{"user", user}, {"group", group}}.dump() + "\n";
  return text;
}

void write_synthetic_dataset(const std::string& dir, const SynthDataset& dataset, uint64_t seed) {
  write_dataset_folder(dir, dataset.records, seed, {{"truth.jsonl", user_groups_jsonl(dataset)}});
}

}  // namespace gavamoe
