// The initialisation schemes; every value is computed in double precision and rounded once, so a seed
// gives the same floats on any machine.
#include "tessera/init.hpp"

#include <algorithm>
#include <cmath>

namespace tessera {

std::string_view to_string(Init init) noexcept {
  switch (init) {
    case Init::XavierUniform:
      return "xavier";
    case Init::He:
      return "he";
    case Init::Normal:
      return "normal";
  }
  return "?";
}

void init_weights(Init init, float* weights, std::int64_t count, std::int64_t fan_in, std::int64_t fan_out, Rng& rng) {
  switch (init) {
    case Init::XavierUniform: {
      const double a = std::sqrt(6.0 / static_cast<double>(std::max<std::int64_t>(1, fan_in + fan_out)));
      for (std::int64_t i = 0; i < count; ++i) weights[i] = static_cast<float>(rng.uniform(-a, a));
      break;
    }
    case Init::He: {
      const double sd = std::sqrt(2.0 / static_cast<double>(std::max<std::int64_t>(1, fan_in)));
      for (std::int64_t i = 0; i < count; ++i) weights[i] = static_cast<float>(sd * rng.normal());
      break;
    }
    case Init::Normal:
      for (std::int64_t i = 0; i < count; ++i) weights[i] = static_cast<float>(rng.normal());
      break;
  }
}

void init_biases(Init init, float* biases, std::int64_t count, Rng& rng) {
  if (init == Init::Normal) {
    for (std::int64_t i = 0; i < count; ++i) biases[i] = static_cast<float>(rng.normal());
  } else {
    std::fill_n(biases, count, 0.0f);
  }
}

}  // namespace tessera
