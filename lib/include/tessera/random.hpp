// The random numbers behind initialisation (and later shuffling and dropout): a generator whose output
// is fixed by its seed on every machine, compiler and thread count, unlike std::*_distribution.
#pragma once

#include <cstdint>

namespace tessera {

// xoshiro256** seeded through SplitMix64. `stream` selects an independent sequence for the same seed
// (one per layer, per epoch, ...), so that what one consumer draws never shifts another's numbers.
class Rng {
 public:
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0) noexcept;

  std::uint64_t next_u64() noexcept;
  // Uniform in [0, 1), 53 random bits.
  double uniform() noexcept;
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box-Muller in double precision).
  double normal() noexcept;
  // Uniform integer in [0, n) without modulo bias. Throws std::invalid_argument for n = 0.
  std::uint64_t below(std::uint64_t n);

 private:
  std::uint64_t s_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace tessera
