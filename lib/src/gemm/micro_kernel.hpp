// The GEMM micro-kernel: one register tile of C accumulated over a packed (or in-place) depth, its
// stores (full tiles inline; partial and swapped tiles out of line) and the per-row-count tables.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "gemm/kernel_set.hpp"
#include "simd/register_transpose.hpp"

namespace tessera::detail {
namespace {

#if defined(__AVX512F__)
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

#if defined(__AVX2__) && defined(__FMA__)
// store_transposed_avx512 for 8-lane registers: each 8×8 block of the accumulators (rows past M
// zero) transposed in registers, each tile column stored as M contiguous floats with a masked store.
template <int M, int NV>
[[gnu::always_inline]] inline void store_transposed_avx2(xsimd::batch<float, xsimd::fma3<xsimd::avx2>> (&acc)[M][NV],
                                                         float* c, std::int64_t cs_c, int n, float beta) {
  static_assert(M <= 8);
  const __m256i rows = first_lanes(M);
  const __m256 vbeta = _mm256_set1_ps(beta);
  for (int v = 0; v < NV; ++v) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_setzero_ps();
    unroll<M>([&](auto i) { r[i] = acc[i][v]; });
    transpose_8x8(r);
    const int cols = n - v * 8 < 8 ? n - v * 8 : 8;
    for (int j = 0; j < cols; ++j) {
      float* cj = c + (v * 8 + j) * cs_c;
      __m256 out = r[j];
      if (beta != 0.0f) out = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(cj, rows), out);
      _mm256_maskstore_ps(cj, rows, out);
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
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    if (rs_c == 1) {
      store_transposed_avx2<M, NV>(acc, c, cs_c, n, beta);
      return;
    }
    if (cs_c == 1) {
      // A partial row-major tile: masked loads and stores (load_first, store_first), lanes past n
      // untouched.
      unroll<NV>([&](auto v) {
        const int lanes = n - v * L >= L ? L : n - v * L;
        if (lanes <= 0) return;
        unroll<M>([&](auto r) {
          float* cp = c + r * rs_c + v * L;
          V out = acc[r][v];
          if (beta != 0.0f) out = madd<Arch>(vbeta, load_first<Arch>(cp, lanes), out);
          store_first<Arch>(out, cp, lanes);
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

}  // namespace
}  // namespace tessera::detail
