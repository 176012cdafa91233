// Seeded draws of the rec commands, the same on every platform (the standard distributions'
// algorithms are left to each library): a uniform integer by rejection, distinct draws by a
// partial Fisher-Yates shuffle, and (seed_mix.hpp) a seed per (seed, tag, index) from splitmix64.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "gavamoe/core/seed_mix.hpp"

namespace gavamoe {

using Rng = std::mt19937_64;

// Uniform in [0, n), n >= 1.
uint64_t uniform_below(Rng& rng, uint64_t n);

// k distinct values of [0, n) in random order (the first is a uniform draw, and so on), k <= n.
std::vector<int64_t> draw_distinct(Rng& rng, int64_t n, int64_t k);

}  // namespace gavamoe
