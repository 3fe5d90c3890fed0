// Streaming kernels for products with one row or one column of output (GemvRows, GemvDots in
// kernel_set.hpp); gemm/gemv.cpp decides when they run.
#pragma once

#include <cmath>
#include <cstdint>

#include "simd/vec.hpp"

namespace tessera::detail {
namespace {

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

}  // namespace
}  // namespace tessera::detail
