// The initialisation schemes; every value is computed in double precision and rounded once, so a seed
// gives the same floats on any machine.
#include "tessera/init.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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

namespace {
void require_buffer(const char* who, const float* p, std::int64_t count) {
  if (count < 0 || (p == nullptr && count > 0)) {
    throw std::invalid_argument(std::string(who) + ": " +
                                (count < 0 ? "count must be >= 0, got " + std::to_string(count)
                                           : "a null buffer for " + std::to_string(count) + " values"));
  }
}
}  // namespace

void init_weights(Init init, float* weights, std::int64_t count, std::int64_t fan_in, std::int64_t fan_out, Rng& rng) {
  require_buffer("init_weights", weights, count);
  if (fan_in < 1 || fan_out < 1) {
    throw std::invalid_argument("init_weights: fan_in and fan_out must be >= 1, got " + std::to_string(fan_in) +
                                " and " + std::to_string(fan_out));
  }
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
  require_buffer("init_biases", biases, count);
  if (init == Init::Normal) {
    for (std::int64_t i = 0; i < count; ++i) biases[i] = static_cast<float>(rng.normal());
  } else {
    std::fill_n(biases, count, 0.0f);
  }
}

}  // namespace tessera
