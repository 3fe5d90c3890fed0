// Sparse rows times a dense matrix, and the compression of a dense row into (index, value) pairs:
// the first layer's product on images whose pixels are mostly zero (see simd/array_kernels.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "simd/vec.hpp"

namespace tessera::detail {
namespace {

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

#if defined(__AVX2__)
// AVX2 has no vcompressps: for each 8-bit mask of nonzero lanes, the lanes to keep in order, as eight
// 4-bit lane numbers in one word (1 KiB in all), unpacked with a variable shift into the permutation.
inline constexpr std::array<std::uint32_t, 256> kCompressPermutations = [] {
  std::array<std::uint32_t, 256> table{};
  for (unsigned mask = 0; mask < 256; ++mask) {
    std::uint32_t packed = 0;
    unsigned kept = 0;
    for (unsigned lane = 0; lane < 8; ++lane) {
      if ((mask >> lane) & 1u) packed |= lane << (4 * kept++);
    }
    table[mask] = packed;
  }
  return table;
}();
#endif

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
#if defined(__AVX2__)
  if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>>) {
    // Eight at a time: compare, permute the nonzero lanes to the front by the table, store all eight
    // (the slack absorbs the rest), advance by the number kept.
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i nibble = _mm256_set1_epi32(0xF);
    const __m256i step = _mm256_set1_epi32(8);
    __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(base), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (; p + 8 <= n; p += 8) {
      const __m256 v = _mm256_loadu_ps(x + p);
      const auto keep = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ)));
      const __m256i order = _mm256_and_si256(
          _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(kCompressPermutations[keep])), shifts), nibble);
      _mm256_storeu_ps(value + count, _mm256_permutevar8x32_ps(v, order));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(index + count), _mm256_permutevar8x32_epi32(lane, order));
      count += __builtin_popcount(keep);
      lane = _mm256_add_epi32(lane, step);
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

}  // namespace
}  // namespace tessera::detail
