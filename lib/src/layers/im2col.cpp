// im2col, col2im and the padded image for NHWC. Along a kernel row the (kw, c) values of a receptive
// field are consecutive in memory, so each kernel row is one contiguous run of the (padded) image.
#include "layers/im2col.hpp"

#include <algorithm>
#include <cstring>

#include "vector_clones.hpp"

namespace tessera::detail {

namespace {

inline void zero_floats(float* dst, std::int64_t n) {
  if (n > 0) std::fill(dst, dst + n, 0.0f);
}

// Walks output pixel (oh, ow)'s kernel rows: visit(row_offset, source_offset, lead, run, tail), with
// `run` floats of the field at row_offset + lead taken from the image at source_offset, and `lead` and
// `tail` floats of padding before and after them; rows wholly in the padding come as run = 0.
template <class Visit>
void for_each_kernel_row(const ConvGeometry& g, std::int64_t oh, std::int64_t ow, const Visit& visit) {
  const std::int64_t row_width = g.kernel * g.c;
  const std::int64_t x0 = ow * g.stride - g.pad;
  const std::int64_t kw_lo = std::max<std::int64_t>(0, -x0);
  const std::int64_t kw_hi = std::min<std::int64_t>(g.kernel, g.w - x0);
  const std::int64_t lead = kw_lo * g.c;
  const std::int64_t run = std::max<std::int64_t>(0, kw_hi - kw_lo) * g.c;
  for (std::int64_t kh = 0; kh < g.kernel; ++kh) {
    const std::int64_t y = oh * g.stride - g.pad + kh;
    if (y < 0 || y >= g.h || run == 0) {
      visit(kh * row_width, std::int64_t{0}, row_width, std::int64_t{0}, std::int64_t{0});
    } else {
      visit(kh * row_width, (y * g.w + x0 + kw_lo) * g.c, lead, run, row_width - lead - run);
    }
  }
}

}  // namespace

// im2col gathers from a zero-padded copy of the image (the copy is a ninth of the gather for a 3×3
// kernel), so that every receptive field is whole kernel rows of `kernel·c` consecutive floats: no
// padding arithmetic per pixel, which cost more than the copy for a first convolution's 3-float rows,
// and each row is copied in whole blocks of 8 floats, the last block running past the row's end into
// the next one (written after it) or the slack. The copy is skipped where the image itself has that
// shape: no padding, and rows of whole blocks.
std::int64_t im2col_scratch_size(const ConvGeometry& g) {
  if (g.pad == 0 && (g.kernel * g.c) % 8 == 0) return 0;
  return g.padded_size() + kIm2colSlack;
}

TESSERA_VECTOR_CLONES void im2col(const ConvGeometry& g, const float* image, float* col, float* scratch) {
  const std::int64_t patch = g.patch(), row_width = g.kernel * g.c, pw = g.padded_width();
  const float* source = image;
  if (im2col_scratch_size(g) > 0) {
    pad_image(g, image, scratch);
    zero_floats(scratch + g.padded_size(), kIm2colSlack);  // read past the last row, never used
    source = scratch;
  }
  const std::int64_t blocks = (row_width + 7) / 8;
  for (std::int64_t oh = 0; oh < g.oh; ++oh) {
    for (std::int64_t ow = 0; ow < g.ow; ++ow) {
      float* row = col + (oh * g.ow + ow) * patch;
      const float* field = source + (oh * g.stride * pw + ow * g.stride) * g.c;
      for (std::int64_t kh = 0; kh < g.kernel; ++kh) {
        float* dst = row + kh * row_width;
        const float* src = field + kh * pw * g.c;
        for (std::int64_t b = 0; b < blocks; ++b) std::memcpy(dst + 8 * b, src + 8 * b, 8 * sizeof(float));
      }
    }
  }
}

std::int64_t shifted_row_count(const ConvGeometry& g) { return (g.oh - 1) * g.padded_width() + g.ow; }

// Shifted rows pay where im2col's copy is a large part of the work: kernel rows long enough (at least
// 16 floats) that the passes over C they add stay cheap, and few dropped rows (at most an eighth more
// rows than pixels). Measured at batch 1 on one Zen 4 core, interleaved in one process: a 16-channel
// 3×3 convolution at 28² (7% more rows) took 43.0 µs on shifted rows against 45.7 µs through im2col,
// and the whole resnet preset 242 against 264 µs; at 14² (13% more rows) 41.7 against 38.8 µs, and at
// 7² (24%) 46 against 38 µs, hence the eighth. Stride 2 would drop more than half the rows.
bool uses_shifted_rows(const ConvGeometry& g) {
  if (g.stride != 1 || g.kernel == 1 || g.kernel * g.c < 16) return false;
  return 8 * shifted_row_count(g) <= 9 * g.pixels();
}

// Measured on one Zen 4 core (AVX-512), interleaved in one process, against im2col + GEMM: 3×3×1 → 16 at
// 28² 4.0 against 8.2 µs, 3×3×3 → 16 8.9 against 13.1 µs, 5×5×1 → 32 at batch 128 (2 threads) 1.10
// against 1.44 ms. A 1×1 kernel (a strided skip connection) gained nothing or lost (32 → 64 at 7²:
// 7.4 against 3.3 µs): it has no kernel rows to gather, only strided pixels.
bool uses_small_conv(const ConvGeometry& g) { return g.kernel > 1 && g.patch() <= 32; }

TESSERA_VECTOR_CLONES void pad_image(const ConvGeometry& g, const float* image, float* padded) {
  const std::int64_t pw = g.padded_width(), row = g.w * g.c, lead = g.pad * g.c;
  float* out = padded;
  zero_floats(out, g.pad * pw * g.c);
  out += g.pad * pw * g.c;
  for (std::int64_t y = 0; y < g.h; ++y) {
    zero_floats(out, lead);
    std::memcpy(out + lead, image + y * row, static_cast<std::size_t>(row) * sizeof(float));
    zero_floats(out + lead + row, lead);
    out += pw * g.c;
  }
  zero_floats(out, g.pad * pw * g.c);
}

TESSERA_VECTOR_CLONES void col2im_add(const ConvGeometry& g, const float* col, float* image) {
  const std::int64_t patch = g.patch();
  for (std::int64_t oh = 0; oh < g.oh; ++oh) {
    for (std::int64_t ow = 0; ow < g.ow; ++ow) {
      const float* row = col + (oh * g.ow + ow) * patch;
      for_each_kernel_row(g, oh, ow,
                          [&](std::int64_t at, std::int64_t from, std::int64_t lead, std::int64_t run, std::int64_t) {
                            const float* src = row + at + lead;
                            float* dst = image + from;
                            for (std::int64_t i = 0; i < run; ++i) dst[i] += src[i];
                          });
    }
  }
}

}  // namespace tessera::detail
