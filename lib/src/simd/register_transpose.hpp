// Register transposes for 128-, 256- and 512-bit vectors: the packing of k-contiguous GEMM operands,
// the swapped-tile stores and the matrix transpose of simd/convert.hpp go through them.
#pragma once

#include <cstdint>

#include "simd/vec.hpp"

namespace tessera::detail {
namespace {

#if defined(__AVX__)
// The same three shuffles for 256- and 512-bit registers, so one transpose stage serves both.
[[gnu::always_inline]] inline __m256 unpacklo(__m256 a, __m256 b) { return _mm256_unpacklo_ps(a, b); }
[[gnu::always_inline]] inline __m256 unpackhi(__m256 a, __m256 b) { return _mm256_unpackhi_ps(a, b); }
template <int Imm>
[[gnu::always_inline]] inline __m256 shuffle(__m256 a, __m256 b) {
  return _mm256_shuffle_ps(a, b, Imm);
}
#endif
#if defined(__AVX512F__)
[[gnu::always_inline]] inline __m512 unpacklo(__m512 a, __m512 b) { return _mm512_unpacklo_ps(a, b); }
[[gnu::always_inline]] inline __m512 unpackhi(__m512 a, __m512 b) { return _mm512_unpackhi_ps(a, b); }
template <int Imm>
[[gnu::always_inline]] inline __m512 shuffle(__m512 a, __m512 b) {
  return _mm512_shuffle_ps(a, b, Imm);
}
#endif

#if defined(__AVX__)
// First stage of every transpose here: within each 128-bit lane, rows 4g..4g+3 of r (N rows) are
// transposed as 4×4 blocks, in place (t is scratch).
template <class V, int N>
[[gnu::always_inline]] inline void transpose_4x4_in_lanes(V (&r)[N], V (&t)[N]) {
  for (int i = 0; i < N; i += 2) {
    t[i] = unpacklo(r[i], r[i + 1]);
    t[i + 1] = unpackhi(r[i], r[i + 1]);
  }
  for (int i = 0; i < N; i += 4) {
    r[i] = shuffle<_MM_SHUFFLE(1, 0, 1, 0)>(t[i], t[i + 2]);
    r[i + 1] = shuffle<_MM_SHUFFLE(3, 2, 3, 2)>(t[i], t[i + 2]);
    r[i + 2] = shuffle<_MM_SHUFFLE(1, 0, 1, 0)>(t[i + 1], t[i + 3]);
    r[i + 3] = shuffle<_MM_SHUFFLE(3, 2, 3, 2)>(t[i + 1], t[i + 3]);
  }
}
#endif

#if defined(__AVX512F__)
// r[i] lane j -> r[j] lane i, for 16 rows of 16 floats.
[[gnu::always_inline]] inline void transpose_16x16(__m512 (&r)[16]) {
  __m512 t[16];
  transpose_4x4_in_lanes(r, t);
  // Each 128-bit lane q of r[i] now holds column 4q + (i % 4) of rows 4(i/4) .. 4(i/4)+3.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);      // lanes 0,2 of r[i], r[i+4]
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);  // lanes 1,3
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
  }
}
#endif

// Transposes a block of R rows × 8 (AVX) or 4 (SSE) floats: row x of the source (stride rs) becomes
// column x of the destination (stride ld), scaled by alpha. R is 8 or 4. The k-contiguous operands
// (A in NN, B in NT) are packed through this, a register transpose instead of strided scalar stores.
#if defined(__AVX__)
inline constexpr int kTransposeWidth = 8;

// r[i] lane j -> r[j] lane i, for 8 rows of 8 floats.
[[gnu::always_inline]] inline void transpose_8x8(__m256 (&r)[8]) {
  __m256 t[8];
  transpose_4x4_in_lanes(r, t);
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
  for (int i = 0; i < 8; ++i) r[i] = t[i];
}

[[gnu::always_inline]] inline void transpose_8x8(const float* s, std::int64_t rs, float* d, std::int64_t ld,
                                                 __m256 alpha) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * rs);
  transpose_8x8(r);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(d + i * ld, _mm256_mul_ps(alpha, r[i]));
}

// 4 source rows × 8 floats -> 8 destination rows × 4 floats.
[[gnu::always_inline]] inline void transpose_4x8(const float* s, std::int64_t rs, float* d, std::int64_t ld,
                                                 __m256 alpha) {
  for (int half = 0; half < 2; ++half) {
    __m128 r0 = _mm_loadu_ps(s + half * 4), r1 = _mm_loadu_ps(s + rs + half * 4);
    __m128 r2 = _mm_loadu_ps(s + 2 * rs + half * 4), r3 = _mm_loadu_ps(s + 3 * rs + half * 4);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    const __m128 a = _mm256_castps256_ps128(alpha);
    float* dh = d + half * 4 * ld;
    _mm_storeu_ps(dh, _mm_mul_ps(a, r0));
    _mm_storeu_ps(dh + ld, _mm_mul_ps(a, r1));
    _mm_storeu_ps(dh + 2 * ld, _mm_mul_ps(a, r2));
    _mm_storeu_ps(dh + 3 * ld, _mm_mul_ps(a, r3));
  }
}
#else
inline constexpr int kTransposeWidth = 4;
#endif

// 4 source rows × 4 floats -> 4 destination rows × 4 floats.
[[gnu::always_inline]] inline void transpose_4x4(const float* s, std::int64_t rs, float* d, std::int64_t ld,
                                                 float alpha) {
  __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + rs), r2 = _mm_loadu_ps(s + 2 * rs), r3 = _mm_loadu_ps(s + 3 * rs);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  const __m128 a = _mm_set1_ps(alpha);
  _mm_storeu_ps(d, _mm_mul_ps(a, r0));
  _mm_storeu_ps(d + ld, _mm_mul_ps(a, r1));
  _mm_storeu_ps(d + 2 * ld, _mm_mul_ps(a, r2));
  _mm_storeu_ps(d + 3 * ld, _mm_mul_ps(a, r3));
}

}  // namespace
}  // namespace tessera::detail
