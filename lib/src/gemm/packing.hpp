// Packing of A and B blocks into slivers of the register tile's width (PackFn in kernel_set.hpp).
#pragma once

#include <cstdint>

#include "simd/register_transpose.hpp"

namespace tessera::detail {
namespace {

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

}  // namespace
}  // namespace tessera::detail
