// AvgPool2D and GlobalAvgPool2D over NHWC: loops over a pixel's channels (vectorised), each image by
// one task, sums in a fixed order.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "layers/batch_checks.hpp"
#include "layers/pool_window.hpp"
#include "parallel.hpp"
#include "tessera/layers/pooling.hpp"

namespace tessera {

AvgPool2D::AvgPool2D(std::int64_t size, std::int64_t stride)
    : size_(size), stride_(detail::pool_stride("tessera::AvgPool2D", size, stride)) {}

std::string AvgPool2D::name() const {
  return "AvgPool2D(" + std::to_string(size_) + ", stride " + std::to_string(stride_) + ")";
}

Shape AvgPool2D::infer_out_shape(const Shape& in) const { return detail::pooled_shape(name(), in, size_, stride_); }

void AvgPool2D::forward(const Tensor& x, Tensor& y) {
  const std::int64_t batch = detail::check_forward(*this, x, y);
  const Shape &in = in_shape(), &out = out_shape();
  const std::int64_t w = in[1], c = in[2], oh = out[0], ow = out[1];
  const float scale = 1.0f / static_cast<float>(size_ * size_);
  detail::for_each_chunk(batch, detail::images_per_task(in, detail::kElementwiseChunk),
                         [&](std::int64_t begin, std::int64_t end) {
                           for (std::int64_t n = begin; n < end; ++n) {
                             const float* image = x.data() + n * in.elements();
                             float* o = y.data() + n * out.elements();
                             for (std::int64_t r = 0; r < oh; ++r) {
                               for (std::int64_t q = 0; q < ow; ++q, o += c) {
                                 std::fill(o, o + c, 0.0f);
                                 for (std::int64_t i = 0; i < size_; ++i) {
                                   for (std::int64_t j = 0; j < size_; ++j) {
                                     const float* p = image + ((r * stride_ + i) * w + q * stride_ + j) * c;
                                     for (std::int64_t ch = 0; ch < c; ++ch) o[ch] += p[ch];
                                   }
                                 }
                                 for (std::int64_t ch = 0; ch < c; ++ch) o[ch] *= scale;
                               }
                             }
                           }
                         });
}

void AvgPool2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  const Shape &in = in_shape(), &out = out_shape();
  const std::int64_t w = in[1], c = in[2], oh = out[0], ow = out[1];
  const float scale = 1.0f / static_cast<float>(size_ * size_);
  detail::for_each_chunk(batch, detail::images_per_task(in, detail::kElementwiseChunk),
                         [&](std::int64_t begin, std::int64_t end) {
                           for (std::int64_t n = begin; n < end; ++n) {
                             float* d_image = dx->data() + n * in.elements();
                             const float* g = dy.data() + n * out.elements();
                             std::fill(d_image, d_image + in.elements(), 0.0f);
                             for (std::int64_t r = 0; r < oh; ++r) {
                               for (std::int64_t q = 0; q < ow; ++q, g += c) {
                                 for (std::int64_t i = 0; i < size_; ++i) {
                                   for (std::int64_t j = 0; j < size_; ++j) {
                                     float* d = d_image + ((r * stride_ + i) * w + q * stride_ + j) * c;
                                     for (std::int64_t ch = 0; ch < c; ++ch) d[ch] += g[ch] * scale;
                                   }
                                 }
                               }
                             }
                           }
                         });
}

Shape GlobalAvgPool2D::infer_out_shape(const Shape& in) const {
  if (in.rank() != 3 || in.elements() < 1) {
    throw std::invalid_argument("GlobalAvgPool2D takes images of shape [height, width, channels], got " +
                                in.to_string());
  }
  return Shape{in[2]};
}

void GlobalAvgPool2D::forward(const Tensor& x, Tensor& y) {
  const std::int64_t batch = detail::check_forward(*this, x, y);
  const Shape& in = in_shape();
  const std::int64_t pixels = in[0] * in[1], c = in[2];
  const float scale = 1.0f / static_cast<float>(pixels);
  detail::for_each_chunk(batch, detail::images_per_task(in, detail::kElementwiseChunk),
                         [&](std::int64_t begin, std::int64_t end) {
                           for (std::int64_t n = begin; n < end; ++n) {
                             const float* p = x.data() + n * in.elements();
                             float* o = y.data() + n * c;
                             std::fill(o, o + c, 0.0f);
                             for (std::int64_t i = 0; i < pixels; ++i, p += c) {
                               for (std::int64_t ch = 0; ch < c; ++ch) o[ch] += p[ch];
                             }
                             for (std::int64_t ch = 0; ch < c; ++ch) o[ch] *= scale;
                           }
                         });
}

void GlobalAvgPool2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  const Shape& in = in_shape();
  const std::int64_t pixels = in[0] * in[1], c = in[2];
  const float scale = 1.0f / static_cast<float>(pixels);
  detail::for_each_chunk(batch, detail::images_per_task(in, detail::kElementwiseChunk),
                         [&](std::int64_t begin, std::int64_t end) {
                           for (std::int64_t n = begin; n < end; ++n) {
                             const float* g = dy.data() + n * c;
                             float* d = dx->data() + n * in.elements();
                             for (std::int64_t i = 0; i < pixels; ++i, d += c) {
                               for (std::int64_t ch = 0; ch < c; ++ch) d[ch] = g[ch] * scale;
                             }
                           }
                         });
}

}  // namespace tessera
