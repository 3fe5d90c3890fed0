// The GEMM epilogue: bias and activation applied to a finished block of C (EpilogueFn).
#pragma once

#include <cstdint>
#include <type_traits>

#include "gemm/kernel_set.hpp"
#include "simd/vec.hpp"

namespace tessera::detail {
namespace {

template <class Arch, Activation A>
[[gnu::always_inline]] inline Vec<Arch> activate(Vec<Arch> x) {
  using V = Vec<Arch>;
  if constexpr (A == Activation::ReLU) return xsimd::max(x, V(0.0f));
  if constexpr (A == Activation::Sigmoid) return V(1.0f) / (V(1.0f) + xsimd::exp(-x));
  if constexpr (A == Activation::Tanh) return xsimd::tanh(x);
  return x;
}

// One instantiation per activation and bias: the choice is made once per block, not once per vector
// (a 16×16 tile of a convolution spent as long in the switch as in the arithmetic).
template <class Arch, Activation A, bool HasBias>
void epilogue_block(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const float* bias) {
  using V = Vec<Arch>;
  constexpr int L = static_cast<int>(V::size);
  const std::int64_t full = cols / L * L;
  const int rest = static_cast<int>(cols - full);
  if (full == L) {
    // One vector per row (a 16-channel convolution on AVX-512): its bias stays in a register.
    [[maybe_unused]] const V b = HasBias ? V::load_unaligned(bias) : V(0.0f);
    for (std::int64_t i = 0; i < rows; ++i) {
      float* ci = c + i * ldc;
      V x = V::load_unaligned(ci);
      if constexpr (HasBias) x += b;
      activate<Arch, A>(x).store_unaligned(ci);
    }
  } else if (full > 0) {
    for (std::int64_t i = 0; i < rows; ++i) {
      float* ci = c + i * ldc;
      for (std::int64_t j = 0; j < full; j += L) {
        V x = V::load_unaligned(ci + j);
        if constexpr (HasBias) x += V::load_unaligned(bias + j);
        activate<Arch, A>(x).store_unaligned(ci + j);
      }
    }
  }
  if (rest == 0) return;
  // The tail goes through the same vector code, so every element sees the same arithmetic.
  alignas(64) float tail[L];
  alignas(64) float tail_bias[L];
  for (int j = 0; j < L; ++j) tail_bias[j] = HasBias && j < rest ? bias[full + j] : 0.0f;
  for (std::int64_t i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    for (int j = 0; j < L; ++j) tail[j] = j < rest ? ci[full + j] : 0.0f;
    V x = V::load_aligned(tail);
    if constexpr (HasBias) x += V::load_aligned(tail_bias);
    activate<Arch, A>(x).store_aligned(tail);
    for (int j = 0; j < rest; ++j) ci[full + j] = tail[j];
  }
}

template <class Arch, Activation A>
void epilogue_for(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const float* bias) {
  if (bias != nullptr) {
    epilogue_block<Arch, A, true>(c, ldc, rows, cols, bias);
  } else {
    epilogue_block<Arch, A, false>(c, ldc, rows, cols, bias);
  }
}

// Calls f(std::integral_constant<Activation, A>{}) for the run-time activation: kernels instantiated
// once per activation, chosen once per call.
template <class F>
[[gnu::always_inline]] inline void with_activation(Activation activation, F&& f) {
  switch (activation) {
    case Activation::ReLU:
      return f(std::integral_constant<Activation, Activation::ReLU>{});
    case Activation::Sigmoid:
      return f(std::integral_constant<Activation, Activation::Sigmoid>{});
    case Activation::Tanh:
      return f(std::integral_constant<Activation, Activation::Tanh>{});
    case Activation::Identity:
      break;
  }
  f(std::integral_constant<Activation, Activation::Identity>{});
}

template <class Arch>
void epilogue(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const float* bias,
              Activation activation) {
  with_activation(activation, [&](auto a) { epilogue_for<Arch, decltype(a)::value>(c, ldc, rows, cols, bias); });
}

}  // namespace
}  // namespace tessera::detail
