// A convolution computed directly, without im2col, where the receptive field is a few floats (a first
// layer on gray or RGB images: 3×3×1 is 9): each output pixel is then a few vector FMAs per block of
// output channels, while im2col and a GEMM of depth 9 spent most of their time copying and storing.
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm/epilogue.hpp"
#include "layers/im2col.hpp"
#include "simd/vec.hpp"

namespace tessera::detail {
namespace {

// Output pixels per register block: independent accumulators enough to cover the FMA latency.
inline constexpr int kSmallConvPixels = 8;

// `Pixels` output pixels (ow0, ...) of row oh, output channels [j, j + lanes): the sum over the taps
// (kh, kw, ci) in order, each an FMA from zero as the GEMM kernels sum depth, then bias and activation
// as the GEMM epilogue applies them, so every element is computed as by im2col and GEMM.
template <class Arch, Activation A, int Pixels>
[[gnu::always_inline]] inline void small_conv_block(const ConvGeometry& g, const float* row0, std::int64_t pw,
                                                    const float* w, const float* bias, std::int64_t j, int lanes,
                                                    std::int64_t ow0, float* y_row) {
  using V = Vec<Arch>;
  constexpr int L = static_cast<int>(V::size);
  const std::int64_t n = g.out_channels;
  V acc[Pixels];
  unroll<Pixels>([&](auto r) { acc[r] = V(0.0f); });
  std::int64_t tap = 0;
  for (std::int64_t kh = 0; kh < g.kernel; ++kh) {
    const float* in = row0 + (kh * pw + ow0 * g.stride) * g.c;
    for (std::int64_t t = 0; t < g.kernel * g.c; ++t, ++tap) {
      const float* wt = w + tap * n + j;
      const V wv = lanes == L ? V::load_unaligned(wt) : load_first<Arch>(wt, lanes);
      // Tap t of kernel row kh is (kw, ci) = (t / c, t % c): in the padded image's row at kw·c + ci.
      unroll<Pixels>([&](auto r) { acc[r] = madd<Arch>(V(in[r * g.stride * g.c + t]), wv, acc[r]); });
    }
  }
  const V b = bias == nullptr ? V(0.0f) : lanes == L ? V::load_unaligned(bias + j) : load_first<Arch>(bias + j, lanes);
  unroll<Pixels>([&](auto r) {
    V x = acc[r];
    if (bias != nullptr) x += b;
    x = activate<Arch, A>(x);
    float* out = y_row + (ow0 + r) * n + j;
    if (lanes == L) {
      x.store_unaligned(out);
    } else {
      store_first<Arch>(x, out, lanes);
    }
  });
}

template <class Arch, Activation A>
void small_conv_for(const ConvGeometry& g, const float* padded, const float* w, const float* bias, float* y) {
  constexpr int L = static_cast<int>(Vec<Arch>::size);
  const std::int64_t pw = g.padded_width(), n = g.out_channels;
  for (std::int64_t oh = 0; oh < g.oh; ++oh) {
    const float* row0 = padded + oh * g.stride * pw * g.c;
    float* y_row = y + oh * g.ow * n;
    for (std::int64_t j = 0; j < n; j += L) {
      const int lanes = static_cast<int>(std::min<std::int64_t>(L, n - j));
      std::int64_t ow = 0;
      for (; ow + kSmallConvPixels <= g.ow; ow += kSmallConvPixels) {
        small_conv_block<Arch, A, kSmallConvPixels>(g, row0, pw, w, bias, j, lanes, ow, y_row);
      }
      for (; ow < g.ow; ++ow) small_conv_block<Arch, A, 1>(g, row0, pw, w, bias, j, lanes, ow, y_row);
    }
  }
}

// SmallConvFn (simd/array_kernels.hpp).
template <class Arch>
void small_conv(const ConvGeometry& g, const float* padded, const float* w, const float* bias, Activation activation,
                float* y) {
  with_activation(activation, [&](auto a) { small_conv_for<Arch, decltype(a)::value>(g, padded, w, bias, y); });
}

}  // namespace
}  // namespace tessera::detail
