// The micro-kernel, packing and epilogue templates, written once over an xsimd architecture. Only
// the per-ISA kernel_*.cpp files include this, each compiled with its own -m flags; everything here
// is a template over Arch or has internal linkage, so no ISA-specific code leaks into other objects.
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "gemm/kernel_set.hpp"

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

// The swapped orientation writes Cᵀ: tile element (i, j) goes to c[i + j*cs_c], so each tile column
// is M contiguous floats of one C row. Transpose the accumulators in registers and store those rows
// with masked vector stores, instead of M·n scalar stores. Same arithmetic as the other paths.
template <int M, int NV>
[[gnu::always_inline]] inline void store_transposed_avx512(xsimd::batch<float, xsimd::avx512f> (&acc)[M][NV], float* c,
                                                           std::int64_t cs_c, int n, float beta) {
  static_assert(M <= 16);
  const __mmask16 rows = static_cast<__mmask16>((1u << M) - 1u);
  const __m512 vbeta = _mm512_set1_ps(beta);
  for (int v = 0; v < NV; ++v) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_setzero_ps();
    unroll<M>([&](auto i) { r[i] = acc[i][v]; });
    transpose_16x16(r);
    const int cols = n - v * 16 < 16 ? n - v * 16 : 16;
    for (int j = 0; j < cols; ++j) {
      float* cj = c + (v * 16 + j) * cs_c;
      __m512 out = r[j];
      if (beta != 0.0f) out = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(rows, cj), out);
      _mm512_mask_storeu_ps(cj, rows, out);
    }
  }
}
#endif

// Tiles that are partial (n < NR) or swapped (Cᵀ, rs_c == 1). Out of line and instantiated once per
// row count, not once per kernel: it is rare, and inlined into every kernel it made the sanitizer
// build of one ISA take minutes. The arithmetic is the same vector operation as on a full tile.
template <class Arch, int M, int NV>
[[gnu::noinline]] void store_edge_tile(Vec<Arch> (&acc)[M][NV], float* __restrict c, std::int64_t rs_c,
                                       std::int64_t cs_c, int n, float beta) {
  using V = Vec<Arch>;
  constexpr int L = static_cast<int>(V::size);
  constexpr int NR = NV * L;
  const V vbeta(beta);
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    if (rs_c == 1) {
      store_transposed_avx512<M, NV>(acc, c, cs_c, n, beta);
      return;
    }
    if (cs_c == 1) {
      // A partial row-major tile: masked stores, lanes past n untouched.
      unroll<NV>([&](auto v) {
        const int lanes = n - v * L;
        const auto mask = static_cast<__mmask16>(lanes >= L ? 0xFFFF : lanes <= 0 ? 0 : (1u << lanes) - 1u);
        unroll<M>([&](auto r) {
          float* cp = c + r * rs_c + v * L;
          __m512 out = acc[r][v];
          if (beta != 0.0f) out = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask, cp), out);
          _mm512_mask_storeu_ps(cp, mask, out);
        });
      });
      return;
    }
  }
#endif
  // Elsewhere: through one row of scratch.
  alignas(64) float row[NR];
  unroll<M>([&](auto r) {
    float* cr = c + r * rs_c;
    if (beta != 0.0f) {
      for (int j = 0; j < NR; ++j) row[j] = j < n ? cr[j * cs_c] : 0.0f;
      unroll<NV>(
          [&](auto v) { madd<Arch>(vbeta, V::load_aligned(row + v * L), acc[r][v]).store_aligned(row + v * L); });
    } else {
      unroll<NV>([&](auto v) { acc[r][v].store_aligned(row + v * L); });
    }
    for (int j = 0; j < n; ++j) cr[j * cs_c] = row[j];
  });
}

// flatten: every helper and lambda below is inlined, so the accumulators never leave registers.
// The k loop is close to the front end's 4 uops/cycle: where a step is a constant (packed slivers),
// the unrolled loop needs one pointer update per operand per four steps, and those adds are what it
// can spare. One instantiation per row count M and operand layout.
template <class Arch, int MR, int NR, int PrefetchSteps, int M, Operands Mode>
[[gnu::flatten]] void micro_kernel(std::int64_t kc, const float* __restrict a, std::int64_t a_step_in,
                                   const float* __restrict b, std::int64_t b_step_in, float* __restrict b_pack,
                                   float* __restrict c, std::int64_t rs_c, std::int64_t cs_c, int n, float alpha,
                                   float beta) {
  constexpr bool packed = Mode == Operands::Packed, a_rows = Mode == Operands::ARows;
  constexpr bool pack_b = Mode == Operands::PackB;
  const std::int64_t a_step = packed || pack_b ? MR : a_rows ? 1 : a_step_in;
  const std::int64_t b_step = packed ? NR : b_step_in;
  // ARows: row r of the sliver starts a_step_in floats after row r-1 (rows are k-contiguous).
  [[maybe_unused]] const std::int64_t a_row = a_step_in;
  using V = Vec<Arch>;
  constexpr int L = static_cast<int>(V::size);
  constexpr int NV = NR / L;
  static_assert(NR % L == 0 && M <= MR);

  // The C tile is needed only after the k loop: ask for it now so its lines (rows ldc apart, often
  // conflicting in L1) arrive in L2 while the FMAs run. A short loop would not hide the latency.
  if (cs_c == 1 && kc >= 64) {
    unroll<M>([&](auto r) {
      __builtin_prefetch(c + r * rs_c, 1, 2);
      __builtin_prefetch(c + r * rs_c + NR - 1, 1, 2);
    });
  }

  V acc[M][NV];
  unroll<M>([&](auto r) { unroll<NV>([&](auto v) { acc[r][v] = V(0.0f); }); });

  // The B sliver (kc×NR) does not fit in L1 beside the A sliver: it streams from L2, and the hardware
  // prefetchers alone leave the FMAs waiting (70% of peak measured on a 384×448 B block, 93-95% with
  // this prefetch PrefetchSteps k-steps ahead).
#ifndef TESSERA_KERNEL_NO_UNROLL  // set by sanitizer builds, see cmake/TesseraSanitizers.cmake
#pragma GCC unroll 4
#endif
  for (std::int64_t p = 0; p < kc; ++p) {
    unroll<(NR * 4 + 63) / 64>([&](auto line) { __builtin_prefetch(b + PrefetchSteps * b_step + line * 16, 0, 3); });
    V bv[NV];
    unroll<NV>([&](auto v) { bv[v] = V::load_unaligned(b + v * L); });
    if constexpr (pack_b) {
      // The store port is idle in this loop: packing B here costs nothing the FMAs would notice.
      unroll<NV>([&](auto v) { bv[v].store_aligned(b_pack + v * L); });
      b_pack += NR;
    }
    unroll<M>([&](auto r) {
      const V ar(a_rows ? a[r * a_row] : a[r]);
      unroll<NV>([&](auto v) { acc[r][v] = madd<Arch>(ar, bv[v], acc[r][v]); });
    });
    a += a_step;
    b += b_step;
  }
  if (alpha != 1.0f) {
    const V valpha(alpha);
    unroll<M>([&](auto r) { unroll<NV>([&](auto v) { acc[r][v] *= valpha; }); });
  }

  const V vbeta(beta);
  if (cs_c == 1 && n == NR) {
    unroll<M>([&](auto r) {
      unroll<NV>([&](auto v) {
        float* cp = c + r * rs_c + v * L;
        if (beta == 0.0f) {
          acc[r][v].store_unaligned(cp);
        } else {
          madd<Arch>(vbeta, V::load_unaligned(cp), acc[r][v]).store_unaligned(cp);
        }
      });
    });
    return;
  }
  store_edge_tile<Arch, M, NV>(acc, c, rs_c, cs_c, n, beta);
}

template <class Arch, int MR, int NR, int PrefetchSteps, Operands Mode, int... M>
constexpr std::array<MicroKernel, kMaxMr> kernel_table(std::integer_sequence<int, M...>) {
  std::array<MicroKernel, kMaxMr> table{};
  ((table[M] = &micro_kernel<Arch, MR, NR, PrefetchSteps, M + 1, Mode>), ...);
  return table;
}

// Transposes a block of R rows × 8 (AVX) or 4 (SSE) floats: row x of the source (stride rs) becomes
// column x of the destination (stride ld), scaled by alpha. R is 8 or 4. The k-contiguous operands
// (A in NN, B in NT) are packed through this, a register transpose instead of strided scalar stores.
#if defined(__AVX__)
inline constexpr int kTransposeWidth = 8;

[[gnu::always_inline]] inline void transpose_8x8(const float* s, std::int64_t rs, float* d, std::int64_t ld,
                                                 __m256 alpha) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * rs);
  transpose_4x4_in_lanes(r, t);
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(d + i * ld, _mm256_mul_ps(alpha, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20)));
    _mm256_storeu_ps(d + (i + 4) * ld, _mm256_mul_ps(alpha, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31)));
  }
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

// One sliver of w <= W rows contiguous along k: dst[p*W + x] = alpha·src[x*rs_x + p].
template <int W>
void pack_sliver_transposed(const float* __restrict s, std::int64_t rs_x, int w, std::int64_t kc, float alpha,
                            float* __restrict dst) {
  constexpr int P = kTransposeWidth;
  std::int64_t p = 0;
  for (; p + P <= kc; p += P) {
    int x = 0;
#if defined(__AVX__)
    const __m256 va = _mm256_set1_ps(alpha);
    for (; x + 8 <= w; x += 8) transpose_8x8(s + x * rs_x + p, rs_x, dst + p * W + x, W, va);
    for (; x + 4 <= w; x += 4) transpose_4x8(s + x * rs_x + p, rs_x, dst + p * W + x, W, va);
#else
    for (; x + 4 <= w; x += 4) transpose_4x4(s + x * rs_x + p, rs_x, dst + p * W + x, W, alpha);
#endif
    for (; x < w; ++x) {
      for (int q = 0; q < P; ++q) dst[(p + q) * W + x] = alpha * s[x * rs_x + p + q];
    }
  }
  for (; p < kc; ++p) {
    for (int x = 0; x < w; ++x) dst[p * W + x] = alpha * s[x * rs_x + p];
  }
}

// Packing, see PackFn. The two layouts that occur: slivers contiguous in the source (rs_x == 1, a
// copy per k) and rows contiguous along k (cs_k == 1, a transpose); anything else element by element.
template <class Arch, int W>
void pack(const float* __restrict src, std::int64_t rs_x, std::int64_t cs_k, std::int64_t extent, std::int64_t kc,
          float alpha, float* __restrict dst) {
  if (rs_x == 1) {
    // Rows contiguous along x (B in NN): walk each source row once across all full slivers, so the
    // reads stream (rows are often 4 KiB apart: one row at a time would miss the TLB per sliver).
    const std::int64_t full = extent / W;
    for (std::int64_t p = 0; p < kc; ++p) {
      const float* sp = src + p * cs_k;
      for (std::int64_t sl = 0; sl < full; ++sl) {
        float* d = dst + sl * W * kc + p * W;
        for (int x = 0; x < W; ++x) d[x] = alpha * sp[sl * W + x];
      }
    }
    if (full * W == extent) return;
    src += full * W;
    extent -= full * W;
    dst += full * W * kc;
  }
  for (std::int64_t x0 = 0; x0 < extent; x0 += W) {
    const int w = static_cast<int>(extent - x0 < W ? extent - x0 : W);
    const float* s = src + x0 * rs_x;
    if (rs_x == 1 && w == W) {
      for (std::int64_t p = 0; p < kc; ++p) {
        const float* sp = s + p * cs_k;
        for (int x = 0; x < W; ++x) dst[p * W + x] = alpha * sp[x];
      }
    } else {
      if (rs_x == 1) {
        for (std::int64_t p = 0; p < kc; ++p) {
          for (int x = 0; x < w; ++x) dst[p * W + x] = alpha * s[p * cs_k + x];
        }
      } else if (cs_k == 1) {
        pack_sliver_transposed<W>(s, rs_x, w, kc, alpha, dst);
      } else {
        for (std::int64_t p = 0; p < kc; ++p) {
          for (int x = 0; x < w; ++x) dst[p * W + x] = alpha * s[x * rs_x + p * cs_k];
        }
      }
      if (w < W) {
        for (std::int64_t p = 0; p < kc; ++p) {
          for (int x = w; x < W; ++x) dst[p * W + x] = 0.0f;
        }
      }
    }
    dst += W * kc;
  }
}

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

// PrefetchSteps: how many k-steps ahead the kernel prefetches the B stream (measured per ISA).
// The final store of a streamed product: y = alpha·acc + beta·y (beta == 0: y is not read).
inline void store_gemv(float* y, float acc, float alpha, float beta) {
  *y = beta == 0.0f ? alpha * acc : alpha * acc + beta * *y;
}

// NV vectors of outputs [j0, j0 + NV·L): acc += x[p]·B(p, j0 …) for each p. With fewer than four
// vectors the depth goes to S interleaved phases (p ≡ s mod S; the last few to phase 0), summed in
// order at the end, so that the FMA latency does not bound the loop.
template <class Arch, int NV>
[[gnu::always_inline]] inline void gemv_rows_block(std::int64_t j0, std::int64_t k, float alpha, const float* x,
                                                   std::int64_t incx, const float* b, std::int64_t ldb, float beta,
                                                   float* y, std::int64_t incy) {
  using V = Vec<Arch>;
  constexpr std::int64_t L = static_cast<std::int64_t>(V::size);
  constexpr int S = NV >= 4 ? 1 : (8 + NV - 1) / NV;
  V acc[S][NV];
  for (int s = 0; s < S; ++s) {
    for (int v = 0; v < NV; ++v) acc[s][v] = V(0.0f);
  }
  std::int64_t p = 0;
  for (; p + S <= k; p += S) {
    for (int s = 0; s < S; ++s) {
      const V xv(x[(p + s) * incx]);
      const float* row = b + (p + s) * ldb + j0;
      for (int v = 0; v < NV; ++v) acc[s][v] = madd<Arch>(xv, V::load_unaligned(row + v * L), acc[s][v]);
    }
  }
  for (; p < k; ++p) {
    const V xv(x[p * incx]);
    const float* row = b + p * ldb + j0;
    for (int v = 0; v < NV; ++v) acc[0][v] = madd<Arch>(xv, V::load_unaligned(row + v * L), acc[0][v]);
  }
  for (int s = 1; s < S; ++s) {
    for (int v = 0; v < NV; ++v) acc[0][v] = acc[0][v] + acc[s][v];
  }
  alignas(64) float lanes[NV * L];
  for (int v = 0; v < NV; ++v) acc[0][v].store_aligned(lanes + v * L);
  for (std::int64_t j = 0; j < NV * L; ++j) store_gemv(y + (j0 + j) * incy, lanes[j], alpha, beta);
}

// The last vectors of a row (fewer than eight), as one block.
template <class Arch, int NV = 7>
[[gnu::always_inline]] inline void gemv_rows_rest(std::int64_t vectors, std::int64_t j0, std::int64_t k, float alpha,
                                                  const float* x, std::int64_t incx, const float* b, std::int64_t ldb,
                                                  float beta, float* y, std::int64_t incy) {
  if constexpr (NV > 0) {
    if (vectors == NV) {
      gemv_rows_block<Arch, NV>(j0, k, alpha, x, incx, b, ldb, beta, y, incy);
    } else {
      gemv_rows_rest<Arch, NV - 1>(vectors, j0, k, alpha, x, incx, b, ldb, beta, y, incy);
    }
  }
}

template <class Arch>
void gemv_rows(std::int64_t n, std::int64_t k, float alpha, const float* x, std::int64_t incx, const float* b,
               std::int64_t ldb, float beta, float* y, std::int64_t incy) {
  constexpr std::int64_t L = static_cast<std::int64_t>(Vec<Arch>::size);
  std::int64_t j = 0;
  // Eight vectors at a time: eight independent FMA chains keep both FMA ports busy.
  for (; j + 8 * L <= n; j += 8 * L) gemv_rows_block<Arch, 8>(j, k, alpha, x, incx, b, ldb, beta, y, incy);
  if (const std::int64_t vectors = (n - j) / L; vectors > 0) {
    gemv_rows_rest<Arch>(vectors, j, k, alpha, x, incx, b, ldb, beta, y, incy);
    j += vectors * L;
  }
  // The last n mod L outputs, each with eight interleaved partial sums for the same reason.
  for (; j < n; ++j) {
    float acc[8] = {};
    std::int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
      for (int s = 0; s < 8; ++s) acc[s] = std::fma(x[(p + s) * incx], b[(p + s) * ldb + j], acc[s]);
    }
    for (int s = 0; p < k; ++p, ++s) acc[s] = std::fma(x[p * incx], b[p * ldb + j], acc[s]);
    float sum = acc[0];
    for (int s = 1; s < 8; ++s) sum += acc[s];
    store_gemv(y + j * incy, sum, alpha, beta);
  }
}

// Four outputs at a time, each a dot product of x with a row of B, vector by vector and then the
// lanes in order; the k % L tail in scalar order after them.
template <class Arch>
void gemv_dots(std::int64_t n, std::int64_t k, float alpha, const float* x, std::int64_t /*incx*/, const float* b,
               std::int64_t ldb, float beta, float* y, std::int64_t incy) {
  using V = Vec<Arch>;
  constexpr std::int64_t L = static_cast<std::int64_t>(V::size);
  constexpr int R = 4;
  const std::int64_t kv = k / L * L;
  const auto finish = [&](const V& acc, const float* row, std::int64_t j) {
    alignas(64) float lanes[L];
    acc.store_aligned(lanes);
    float s = 0.0f;
    for (std::int64_t l = 0; l < L; ++l) s += lanes[l];
    for (std::int64_t p = kv; p < k; ++p) s = std::fma(x[p], row[p], s);
    store_gemv(y + j * incy, s, alpha, beta);
  };
  std::int64_t j = 0;
  for (; j + R <= n; j += R) {
    V acc[R];
    for (int r = 0; r < R; ++r) acc[r] = V(0.0f);
    for (std::int64_t p = 0; p < kv; p += L) {
      const V xv = V::load_unaligned(x + p);
      for (int r = 0; r < R; ++r) acc[r] = madd<Arch>(xv, V::load_unaligned(b + (j + r) * ldb + p), acc[r]);
    }
    for (int r = 0; r < R; ++r) finish(acc[r], b + (j + r) * ldb, j + r);
  }
  for (; j < n; ++j) {
    V acc(0.0f);
    for (std::int64_t p = 0; p < kv; p += L)
      acc = madd<Arch>(V::load_unaligned(x + p), V::load_unaligned(b + j * ldb + p), acc);
    finish(acc, b + j * ldb, j);
  }
}

// Loads and stores of the first `count` floats of a vector (count < L), the rest zero: the last,
// partial vector of a row.
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch> load_first(const float* p, int count) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    return Vec<Arch>(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p));
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
  alignas(64) float lanes[Vec<Arch>::size];
  v.store_aligned(lanes);
  for (int i = 0; i < count; ++i) p[i] = lanes[i];
}

// NV vectors of one output row from column j0 of a sparse-times-dense product (the last vector only
// `last` columns wide when Partial), in registers while the row's entries stream by. With fewer than
// four vectors the entries go to S interleaved phases (e − e0 ≡ s mod S; the last few to phase 0),
// summed in order at the end, so that the FMA latency does not bound the loop. Plain loops of
// constant trip count: the compiler keeps the accumulators in registers.
template <class Arch, int NV, bool Partial>
[[gnu::always_inline]] inline void sparse_row_block(std::int64_t j0, int last, std::int32_t e0, std::int32_t e1,
                                                    const std::int32_t* index, const float* value, const float* b,
                                                    std::int64_t ldb, float beta, float* c) {
  using V = Vec<Arch>;
  constexpr std::int64_t L = static_cast<std::int64_t>(V::size);
  constexpr int S = NV >= 4 ? 1 : (8 + NV - 1) / NV;
  constexpr int F = Partial ? NV - 1 : NV;  // full vectors
  V acc[S][NV];
  for (int s = 0; s < S; ++s) {
    for (int v = 0; v < NV; ++v) acc[s][v] = V(0.0f);
  }
  std::int32_t e = e0;
  for (; e + S <= e1; e += S) {
    for (int s = 0; s < S; ++s) {
      const V xv(value[e + s]);
      const float* row = b + index[e + s] * ldb + j0;
      for (int v = 0; v < F; ++v) acc[s][v] = madd<Arch>(xv, V::load_unaligned(row + v * L), acc[s][v]);
      if constexpr (Partial) acc[s][NV - 1] = madd<Arch>(xv, load_first<Arch>(row + F * L, last), acc[s][NV - 1]);
    }
  }
  for (; e < e1; ++e) {
    const V xv(value[e]);
    const float* row = b + index[e] * ldb + j0;
    for (int v = 0; v < F; ++v) acc[0][v] = madd<Arch>(xv, V::load_unaligned(row + v * L), acc[0][v]);
    if constexpr (Partial) acc[0][NV - 1] = madd<Arch>(xv, load_first<Arch>(row + F * L, last), acc[0][NV - 1]);
  }
  for (int s = 1; s < S; ++s) {
    for (int v = 0; v < NV; ++v) acc[0][v] = acc[0][v] + acc[s][v];
  }
  for (int v = 0; v < F; ++v) {
    V out = acc[0][v];
    if (beta != 0.0f) out = madd<Arch>(V(beta), V::load_unaligned(c + j0 + v * L), out);
    out.store_unaligned(c + j0 + v * L);
  }
  if constexpr (Partial) {
    V out = acc[0][NV - 1];
    if (beta != 0.0f) out = madd<Arch>(V(beta), load_first<Arch>(c + j0 + F * L, last), out);
    store_first<Arch>(out, c + j0 + F * L, last);
  }
}

template <class Arch, int NV = 8>
[[gnu::always_inline]] inline void sparse_row_rest(std::int64_t vectors, std::int64_t j0, int last, std::int32_t e0,
                                                   std::int32_t e1, const std::int32_t* index, const float* value,
                                                   const float* b, std::int64_t ldb, float beta, float* c) {
  if constexpr (NV > 0) {
    if (vectors == NV) {
      if (last > 0) {
        sparse_row_block<Arch, NV, true>(j0, last, e0, e1, index, value, b, ldb, beta, c);
      } else {
        sparse_row_block<Arch, NV, false>(j0, 0, e0, e1, index, value, b, ldb, beta, c);
      }
    } else {
      sparse_row_rest<Arch, NV - 1>(vectors, j0, last, e0, e1, index, value, b, ldb, beta, c);
    }
  }
}

template <class Arch>
void sparse_rows(std::int64_t rows, std::int64_t n, const std::int32_t* offsets, const std::int32_t* index,
                 const float* value, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  constexpr std::int64_t L = static_cast<std::int64_t>(Vec<Arch>::size);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int32_t e0 = offsets[r], e1 = offsets[r + 1];
    float* cr = c + r * ldc;
    // Full blocks of eight vectors, then one block for the rest, its last vector partial.
    std::int64_t j = 0;
    for (; j + 8 * L < n || (j + 8 * L == n && n > 0); j += 8 * L) {
      sparse_row_block<Arch, 8, false>(j, 0, e0, e1, index, value, b, ldb, beta, cr);
    }
    if (j < n) {
      const int last = static_cast<int>((n - j) % L);
      const std::int64_t vectors = (n - j + L - 1) / L;
      sparse_row_rest<Arch>(vectors, j, last, e0, e1, index, value, b, ldb, beta, cr);
    }
  }
}

template <class Arch>
std::int64_t compress(const float* x, std::int64_t n, std::int32_t base, std::int32_t* index, float* value) {
  std::int64_t count = 0;
  std::int64_t p = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>) {
    // Sixteen at a time: compare, compress the nonzero lanes to the front, store all sixteen (the
    // slack absorbs the rest), advance by the number kept.
    const __m512i step = _mm512_set1_epi32(16);
    __m512i lane = _mm512_add_epi32(_mm512_set1_epi32(base),
                                    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    for (; p + 16 <= n; p += 16) {
      const __m512 v = _mm512_loadu_ps(x + p);
      const __mmask16 keep = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
      _mm512_storeu_ps(value + count, _mm512_maskz_compress_ps(keep, v));
      _mm512_storeu_si512(index + count, _mm512_maskz_compress_epi32(keep, lane));
      count += __builtin_popcount(keep);
      lane = _mm512_add_epi32(lane, step);
    }
  }
#endif
  // Branch-free: zeros and nonzeros are mixed unpredictably (a branch mispredicted every other pixel).
  for (; p < n; ++p) {
    index[count] = base + static_cast<std::int32_t>(p);
    value[count] = x[p];
    count += x[p] != 0.0f;
  }
  return count;
}

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

template <class Arch, int MR, int NR, int PrefetchSteps>
KernelSet make_kernel_set(Isa isa, const char* name, BlockSizes blocks, int swapped_store_cost) {
  static_assert(MR <= kMaxMr);
  static_assert((NR & (NR - 1)) == 0, "the driver divides by NR with shifts");
  return KernelSet{isa,
                   name,
                   blocks,
                   swapped_store_cost,
                   {kernel_table<Arch, MR, NR, PrefetchSteps, Operands::Packed>(std::make_integer_sequence<int, MR>{}),
                    kernel_table<Arch, MR, NR, PrefetchSteps, Operands::Stepped>(std::make_integer_sequence<int, MR>{}),
                    kernel_table<Arch, MR, NR, PrefetchSteps, Operands::ARows>(std::make_integer_sequence<int, MR>{}),
                    kernel_table<Arch, MR, NR, PrefetchSteps, Operands::PackB>(std::make_integer_sequence<int, MR>{})},
                   &pack<Arch, MR>,
                   &pack<Arch, NR>,
                   &epilogue<Arch>,
                   &gemv_rows<Arch>,
                   &gemv_dots<Arch>,
                   &sparse_rows<Arch>,
                   &compress<Arch>,
                   &transpose<Arch>,
                   &bytes_to_floats<Arch>};
}

}  // namespace
}  // namespace tessera::detail
