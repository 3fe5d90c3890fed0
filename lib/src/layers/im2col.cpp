// im2col and col2im for NHWC. Along a kernel row the (kw, c) values of a receptive field are
// consecutive in memory, so each kernel row is one contiguous run of the image, cut short where the
// field reaches into the left or right padding.
#include "layers/im2col.hpp"

#include <algorithm>
#include <cstring>

#include "vector_clones.hpp"

namespace tessera::detail {

namespace {

// A first convolution's kernel rows are a few floats (5 for a 5×5 kernel over one channel), where a
// call to memcpy or memset costs more than the copy: blocks of constant size compile to plain moves,
// the last one overlapping the one before.
template <std::int64_t Block>
inline void copy_blocks(float* dst, const float* src, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + Block < n; i += Block) std::memcpy(dst + i, src + i, Block * sizeof(float));
  std::memcpy(dst + n - Block, src + n - Block, Block * sizeof(float));
}

inline void copy_floats(float* dst, const float* src, std::int64_t n) {
  if (n >= 8) {
    copy_blocks<8>(dst, src, n);
  } else if (n >= 4) {
    copy_blocks<4>(dst, src, n);
  } else {
    for (std::int64_t i = 0; i < n; ++i) std::memcpy(dst + i, src + i, sizeof(float));
  }
}

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

// The output coordinates [lo, hi) along a side of `extent` pixels whose fields lie wholly inside it.
struct Inside {
  std::int64_t lo, hi;
  Inside(const ConvGeometry& g, std::int64_t extent, std::int64_t outputs) {
    const std::int64_t last_start = extent + g.pad - g.kernel;  // of a field inside, in padded coordinates
    hi = last_start < g.pad ? 0 : std::min(outputs, last_start / g.stride + 1);
    lo = std::min((g.pad + g.stride - 1) / g.stride, hi);
  }
  bool contains(std::int64_t o) const { return o >= lo && o < hi; }
};

}  // namespace

TESSERA_VECTOR_CLONES void im2col(const ConvGeometry& g, const float* image, float* col) {
  const std::int64_t patch = g.patch(), row_width = g.kernel * g.c;
  const Inside rows(g, g.h, g.oh), cols(g, g.w, g.ow);
  for (std::int64_t oh = 0; oh < g.oh; ++oh) {
    for (std::int64_t ow = 0; ow < g.ow; ++ow) {
      float* row = col + (oh * g.ow + ow) * patch;
      if (rows.contains(oh) && cols.contains(ow)) {
        // Plain copies of the kernel rows, without the padding arithmetic below, which costs more than
        // the copy itself for a first convolution's 5-float rows.
        const float* field = image + ((oh * g.stride - g.pad) * g.w + ow * g.stride - g.pad) * g.c;
        for (std::int64_t kh = 0; kh < g.kernel; ++kh)
          copy_floats(row + kh * row_width, field + kh * g.w * g.c, row_width);
        continue;
      }
      for_each_kernel_row(
          g, oh, ow, [&](std::int64_t at, std::int64_t from, std::int64_t lead, std::int64_t run, std::int64_t tail) {
            float* dst = row + at;
            zero_floats(dst, lead);
            copy_floats(dst + lead, image + from, run);
            zero_floats(dst + lead + run, tail);
          });
    }
  }
}

ShiftedRows shifted_rows(const ConvGeometry& g) {
  const std::int64_t pw = g.w + 2 * g.pad;
  return {pw, (g.oh - 1) * pw + g.ow, (g.h + 2 * g.pad) * pw * g.c};
}

// Shifted rows pay where im2col's copy is a large part of the work: kernel rows long enough (at least
// 16 floats) that the passes over C they add stay cheap, and few dropped rows (at most an eighth more
// rows than pixels). Measured at batch 1 on one Zen 4 core, interleaved in one process: a 16-channel
// 3×3 convolution at 28² (7% more rows) took 43.0 µs on shifted rows against 45.7 µs through im2col,
// and the whole resnet preset 242 against 264 µs; at 14² (13% more rows) 41.7 against 38.8 µs, and at
// 7² (24%) 46 against 38 µs, hence the eighth. Stride 2 would drop more than half the rows.
bool uses_shifted_rows(const ConvGeometry& g) {
  if (g.stride != 1 || g.kernel == 1 || g.kernel * g.c < 16) return false;
  return 8 * shifted_rows(g).rows <= 9 * g.pixels();
}

TESSERA_VECTOR_CLONES void pad_image(const ConvGeometry& g, const float* image, float* padded) {
  const std::int64_t pw = g.w + 2 * g.pad, row = g.w * g.c, lead = g.pad * g.c;
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
