// Floats in a LayerSpec's integer arguments, recorded by their bits so that a model file gives back
// exactly the value (Dropout's probability, Normalize's constants, BatchNorm's momentum and eps, ...).
#pragma once

#include <bit>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera::detail {

inline std::int64_t float_arg(float v) { return std::int64_t{std::bit_cast<std::uint32_t>(v)}; }

// Argument i of `spec` read back as a float. Throws std::invalid_argument unless it is 32 bits.
inline float float_of_arg(const LayerSpec& spec, std::size_t i) {
  if (spec.args[i] < 0 || spec.args[i] > 0xffffffffLL) {
    throw std::invalid_argument("layer " + spec.kind + ": argument " + std::to_string(spec.args[i]) +
                                " is not the bits of a float");
  }
  return std::bit_cast<float>(static_cast<std::uint32_t>(spec.args[i]));
}

}  // namespace tessera::detail
