// Weight initialisation schemes, all drawn from a tessera::Rng so that one seed fixes every weight.
#pragma once

#include <cstdint>
#include <string_view>

#include "tessera/random.hpp"

namespace tessera {

enum class Init {
  XavierUniform,  // Glorot: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); biases 0. For sigmoid and tanh.
  He,             // He (Kaiming) normal: N(0, 2 / fan_in); biases 0. For ReLU.
  Normal,         // N(0, 1) for weights and biases alike: the original Python program's choice.
};

std::string_view to_string(Init init) noexcept;

// Fills `count` weights of a layer with fan-in `fan_in` and fan-out `fan_out`. Throws
// std::invalid_argument for a null pointer with count > 0, count < 0, or fans < 1.
void init_weights(Init init, float* weights, std::int64_t count, std::int64_t fan_in, std::int64_t fan_out, Rng& rng);
// Fills `count` biases (zeros, or N(0, 1) for Init::Normal). Throws std::invalid_argument for a null
// pointer with count > 0 or count < 0.
void init_biases(Init init, float* biases, std::int64_t count, Rng& rng);

}  // namespace tessera
