// Whole-array conversions: a matrix transposed, and bytes (image pixels) scaled to floats.
#pragma once

#include <cstdint>

#include "simd/register_transpose.hpp"

namespace tessera::detail {
namespace {

template <class Arch>
void transpose(const float* src, std::int64_t rows, std::int64_t cols, std::int64_t lds, float* dst, std::int64_t ldd) {
  std::int64_t r = 0;
#if defined(__AVX__)
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; r + 8 <= rows; r += 8) {
    std::int64_t c = 0;
    for (; c + 8 <= cols; c += 8) transpose_8x8(src + r * lds + c, lds, dst + c * ldd + r, ldd, one);
    for (; c < cols; ++c) {
      for (std::int64_t i = 0; i < 8; ++i) dst[c * ldd + r + i] = src[(r + i) * lds + c];
    }
  }
#endif
  for (; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
  }
}

template <class Arch>
void bytes_to_floats(const std::uint8_t* src, std::int64_t n, float scale, float* dst) {
  std::int64_t i = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    const __m512 s = _mm512_set1_ps(scale);
    for (; i + 16 <= n; i += 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
      _mm512_storeu_ps(dst + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)), s));
    }
  }
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    const __m256 s = _mm256_set1_ps(scale);
    for (; i + 8 <= n; i += 8) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i));
      _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), s));
    }
  }
#endif
  for (; i < n; ++i) dst[i] = static_cast<float>(src[i]) * scale;
}

}  // namespace
}  // namespace tessera::detail
