// seed_mix: splitmix64 of `a` combined with `b`, the way to derive independent seeds from one
// --seed: each (seed, epoch) data order and (seed, step, micro-batch, rank) dropout stream of the
// trainers, so a resumed run draws exactly what an uninterrupted one would; the rec commands'
// sampling streams; FastDropout's counter-based masks.
#pragma once

#include <cstdint>

namespace gavamoe {

inline uint64_t seed_mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace gavamoe
