// Learning-rate schedules: the factor applied to an optimizer's base rate at each step.
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

class LRSchedule {
 public:
  // Factor 1 at every step.
  static LRSchedule constant() noexcept { return LRSchedule(); }
  // gamma^floor(t / every): e.g. step(1000, 0.1) divides the rate by 10 every 1000 steps.
  // Throws std::invalid_argument unless every >= 1 and 0 < gamma <= 1.
  static LRSchedule step(std::int64_t every, float gamma);
  // Half a cosine from 1 down to min_factor over `total` steps, then min_factor.
  // Throws std::invalid_argument unless total >= 1 and 0 <= min_factor <= 1.
  static LRSchedule cosine(std::int64_t total, float min_factor = 0.0f);

  // The factor for step t (0 for the first step).
  double factor(std::int64_t t) const noexcept;
  // "constant", "step(1000, 0.1)", "cosine(5000, 0)".
  std::string to_string() const;

 private:
  enum class Kind { Constant, Step, Cosine };
  LRSchedule() = default;

  Kind kind_ = Kind::Constant;
  std::int64_t period_ = 1;  // every (Step) or total (Cosine)
  double value_ = 1.0;       // gamma (Step) or min_factor (Cosine)
};

}  // namespace tessera
