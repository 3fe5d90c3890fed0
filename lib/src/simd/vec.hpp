// SIMD building blocks of the per-ISA kernels: the vector type, compile-time unrolling, fused
// multiply-add, and loads/stores of a partial vector. Every per-ISA .cpp file (gemm/kernel_*.cpp,
// simd/array_*.cpp) defines TESSERA_PER_ISA_FILE before including this; no other file may, so no
// ISA-specific code ends up in an object compiled without that ISA's flags.
#pragma once

#ifndef TESSERA_PER_ISA_FILE
#error "this header is for the per-ISA kernel files only, each compiled with its own -m flags"
#endif

#include <type_traits>
#include <utility>
#include <xsimd/xsimd.hpp>

#include <immintrin.h>

namespace tessera::detail {
namespace {

template <class Arch>
using Vec = xsimd::batch<float, Arch>;

template <int N, class F>
[[gnu::always_inline]] inline void unroll(F&& f) {
  // Both levels must inline: an out-of-line call here would force the accumulators to memory.
  [&]<int... I>(std::integer_sequence<int, I...>) __attribute__((always_inline)) {
    (f(std::integral_constant<int, I>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

// x·y + z with one rounding where the ISA has FMA. xsimd 8.1's fma for avx512f is the generic x*y+z,
// which the compiler contracts only under some flags: use the intrinsic there.
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> madd(Vec<Arch> x, Vec<Arch> y, Vec<Arch> z) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    return Vec<Arch>(_mm512_fmadd_ps(x, y, z));
  }
#endif
  return xsimd::fma(x, y, z);
}

#if defined(__AVX2__)
// The first `count` lanes set: the mask of AVX2's masked loads and stores.
[[gnu::always_inline]] inline __m256i first_lanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

// Loads and stores of the first `count` floats of a vector (count < L), the rest zero: the last,
// partial vector of a row.
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> load_first(const float* p, int count) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    return Vec<Arch>(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p));
  }
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    return Vec<Arch>(_mm256_maskload_ps(p, first_lanes(count)));
  }
#endif
  alignas(64) float lanes[Vec<Arch>::size] = {};
  for (int i = 0; i < count; ++i) lanes[i] = p[i];
  return Vec<Arch>::load_aligned(lanes);
}

template <class Arch>
[[gnu::always_inline]] inline void store_first(Vec<Arch> v, float* p, int count) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1), v);
    return;
  }
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    _mm256_maskstore_ps(p, first_lanes(count), v);
    return;
  }
#endif
  alignas(64) float lanes[Vec<Arch>::size];
  v.store_aligned(lanes);
  for (int i = 0; i < count; ++i) p[i] = lanes[i];
}

}  // namespace
}  // namespace tessera::detail
