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
};

// col: pixels() rows of patch() floats, row oh·ow' + ow holding the receptive field of output pixel
// (oh, ow) in (kh, kw, c) order, zeros where it reaches into the padding.
void im2col(const ConvGeometry& g, const float* image, float* col);

// image += the rows of col scattered back to where im2col read them from (overlapping fields add).
void col2im_add(const ConvGeometry& g, const float* col, float* image);

}  // namespace tessera::detail
