// The convolution's data movement: one image's receptive fields gathered into the rows of a matrix
// (im2col), and the gradient of those rows added back to the pixels they came from (col2im).
#pragma once

#include <cstdint>

namespace tessera::detail {

// One convolution's sizes, NHWC: an image is h×w×c floats, channels innermost.
struct ConvGeometry {
  std::int64_t h, w, c;
  std::int64_t kernel, stride, pad;
  std::int64_t oh, ow, out_channels;

  std::int64_t image_size() const noexcept { return h * w * c; }
  std::int64_t pixels() const noexcept { return oh * ow; }             // output pixels per image
  std::int64_t patch() const noexcept { return kernel * kernel * c; }  // one row of the im2col matrix
  std::int64_t output_size() const noexcept { return pixels() * out_channels; }
  // A 1×1, stride-1, unpadded convolution reads the image itself as the im2col matrix.
  bool pointwise() const noexcept { return kernel == 1 && stride == 1 && pad == 0; }
  // The image with `pad` zero pixels on each side (pad_image): its width, and its size in floats.
  std::int64_t padded_width() const noexcept { return w + 2 * pad; }
  std::int64_t padded_size() const noexcept { return (h + 2 * pad) * padded_width() * c; }
};

// Stride-1 convolutions can skip im2col ("implicit GEMM"). In a zero-padded copy of the image (pw =
// w + 2·pad pixels wide), kernel row kh of output pixel (oh, ow)'s field is kernel·c consecutive floats
// at ((oh + kh)·pw + ow)·c. Numbering the pixels of the padded width v = oh·pw + ow ("shifted rows"),
// kernel row kh of every field is the matrix A_kh(v, ·) = padded + (kh·pw + v)·c, rows c floats apart
// (overlapping): the convolution is the sum over kh of A_kh·W_kh, each read in place, with W_kh the
// kernel·c rows of the weights for kernel row kh. Rows with ow >= oh's width (kernel − 1 per image
// row) are computed and dropped.
// The shifted rows up to the last output pixel: (oh − 1)·pw + ow.
std::int64_t shifted_row_count(const ConvGeometry& g);

// Whether this convolution runs on shifted rows rather than im2col (shapes only, see im2col.cpp).
bool uses_shifted_rows(const ConvGeometry& g);

// Whether this convolution is computed directly (ArrayKernels::small_conv): a kernel larger than 1×1
// with a receptive field of at most 32 floats, where im2col's copies and the GEMM's short depth cost
// more than the arithmetic.
bool uses_small_conv(const ConvGeometry& g);

// padded: the image with `pad` zero pixels on each side, g.padded_size() floats.
void pad_image(const ConvGeometry& g, const float* image, float* padded);

// col: pixels() rows of patch() floats, row oh·ow' + ow holding the receptive field of output pixel
// (oh, ow) in (kh, kw, c) order, zeros where it reaches into the padding. col must have room for
// kIm2colSlack floats more, which im2col may overwrite. scratch: im2col_scratch_size(g) floats (none
// for 0), where it copies a padded image to gather from.
void im2col(const ConvGeometry& g, const float* image, float* col, float* scratch);
inline constexpr std::int64_t kIm2colSlack = 16;
std::int64_t im2col_scratch_size(const ConvGeometry& g);

// image += the rows of col scattered back to where im2col read them from (overlapping fields add).
void col2im_add(const ConvGeometry& g, const float* col, float* image);

}  // namespace tessera::detail
