// What MaxPool2D and AvgPool2D share: the window's checks and the pooled shape of an NHWC image.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "tessera/tensor.hpp"

namespace tessera::detail {

// The stride to use (0: the window size), after checking size >= 1 and stride >= 0 (both at most
// 4096). `who` names the layer ("tessera::MaxPool2D") in the error.
inline std::int64_t pool_stride(const char* who, std::int64_t size, std::int64_t stride) {
  if (size < 1 || stride < 0 || size > 4096 || stride > 4096) {
    throw std::invalid_argument(std::string(who) + ": size must be >= 1 and stride >= 0 (0: the size), got size " +
                                std::to_string(size) + ", stride " + std::to_string(stride));
  }
  return stride == 0 ? size : stride;
}

// [H, W, C] → [(H − size) / stride + 1, (W − size) / stride + 1, C]; `name` is the layer's name().
inline Shape pooled_shape(const std::string& name, const Shape& in, std::int64_t size, std::int64_t stride) {
  if (in.rank() != 3) {
    throw std::invalid_argument(name + " takes images of shape [height, width, channels], got " + in.to_string());
  }
  if (in[0] < size || in[1] < size) {
    throw std::invalid_argument(name + ": the window is larger than the image " + in.to_string());
  }
  return Shape{(in[0] - size) / stride + 1, (in[1] - size) / stride + 1, in[2]};
}

// Images per task: enough that each task reads about kElementwiseChunk floats.
inline std::int64_t images_per_task(const Shape& image, std::int64_t chunk) {
  const std::int64_t elements = image.elements() > 0 ? image.elements() : 1;
  return chunk / elements > 0 ? chunk / elements : 1;
}

}  // namespace tessera::detail
