// The GEMM epilogue: bias and activation applied to a finished block of C (EpilogueFn).
#pragma once

#include <cstdint>

#include "gemm/kernel_set.hpp"
#include "simd/vec.hpp"

namespace tessera::detail {
namespace {

template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> activate(Vec<Arch> x, Activation activation) {
  using V = Vec<Arch>;
  switch (activation) {
    case Activation::ReLU:
      return xsimd::max(x, V(0.0f));
    case Activation::Sigmoid:
      return V(1.0f) / (V(1.0f) + xsimd::exp(-x));
    case Activation::Tanh:
      return xsimd::tanh(x);
    case Activation::Identity:
      break;
  }
  return x;
}

template <class Arch>
void epilogue(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const float* bias,
              Activation activation) {
  using V = Vec<Arch>;
  constexpr int L = static_cast<int>(V::size);
  alignas(64) float tail[L];
  alignas(64) float tail_bias[L];
  const std::int64_t full = cols / L * L;
  const int rest = static_cast<int>(cols - full);
  for (int j = 0; j < L; ++j) tail_bias[j] = bias != nullptr && j < rest ? bias[full + j] : 0.0f;
  for (std::int64_t i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    for (std::int64_t j = 0; j < full; j += L) {
      V x = V::load_unaligned(ci + j);
      if (bias != nullptr) x += V::load_unaligned(bias + j);
      activate<Arch>(x, activation).store_unaligned(ci + j);
    }
    if (rest > 0) {
      // The tail goes through the same vector code, so every element sees the same arithmetic.
      for (int j = 0; j < L; ++j) tail[j] = j < rest ? ci[full + j] : 0.0f;
      V x = V::load_aligned(tail);
      if (bias != nullptr) x += V::load_aligned(tail_bias);
      activate<Arch>(x, activation).store_aligned(tail);
      for (int j = 0; j < rest; ++j) ci[full + j] = tail[j];
    }
  }
}

}  // namespace
}  // namespace tessera::detail
