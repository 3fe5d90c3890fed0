// MaxPool2D over NHWC: channels are innermost, so every step below is a loop over a pixel's channels,
// which the compiler vectorises. Parallel over images.
#include "tessera/layers/pooling.hpp"

#include <algorithm>
#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "layers/pool_window.hpp"
#include "parallel.hpp"
#include "vector_clones.hpp"

namespace tessera {

namespace {

struct PoolGeometry {
  std::int64_t h, w, c, oh, ow, size, stride;
  const float* window(const float* image, std::int64_t oh_, std::int64_t ow_, std::int64_t i, std::int64_t j) const {
    return image + ((oh_ * stride + i) * w + ow_ * stride + j) * c;
  }
};

TESSERA_VECTOR_CLONES void pool_image(const PoolGeometry& g, const float* image, float* o) {
  for (std::int64_t oh = 0; oh < g.oh; ++oh) {
    for (std::int64_t ow = 0; ow < g.ow; ++ow, o += g.c) {
      const float* first = g.window(image, oh, ow, 0, 0);
      std::copy(first, first + g.c, o);
      for (std::int64_t i = 0; i < g.size; ++i) {
        for (std::int64_t j = i == 0 ? 1 : 0; j < g.size; ++j) {
          const float* p = g.window(image, oh, ow, i, j);
          for (std::int64_t ch = 0; ch < g.c; ++ch) o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
        }
      }
    }
  }
}

}  // namespace

MaxPool2D::MaxPool2D(std::int64_t size, std::int64_t stride)
    : size_(size), stride_(detail::pool_stride("tessera::MaxPool2D", size, stride)) {}

std::string MaxPool2D::name() const {
  return "MaxPool2D(" + std::to_string(size_) + ", stride " + std::to_string(stride_) + ")";
}

Shape MaxPool2D::infer_out_shape(const Shape& in) const { return detail::pooled_shape(name(), in, size_, stride_); }

void MaxPool2D::forward(const Tensor& x, Tensor& y) {
  const std::int64_t batch = detail::check_forward(*this, x, y);
  const Shape &in = in_shape(), &out = out_shape();
  const PoolGeometry g{in[0], in[1], in[2], out[0], out[1], size_, stride_};
  const std::int64_t in_size = in.elements(), out_size = out.elements();
  detail::for_each_chunk(batch, detail::images_per_task(in, detail::kElementwiseChunk),
                         [&](std::int64_t begin, std::int64_t end) {
                           for (std::int64_t n = begin; n < end; ++n)
                             pool_image(g, x.data() + n * in_size, y.data() + n * out_size);
                         });
}

namespace {

// One output pixel's channels [0, n): each gradient goes to the first window position (in row-major
// order) whose input equals the output. `left` holds what is still to place; `overwrite` when the
// windows do not overlap, so that every input is written exactly once.
// With `relu_input`, a maximum of 0 passes nothing (ReLU's derivative there).
TESSERA_VECTOR_CLONES void route_gradient(const PoolGeometry& g, const float* image, float* d_image, std::int64_t oh,
                                          std::int64_t ow, const float* __restrict m, const float* __restrict dy,
                                          std::int64_t n, bool overwrite, bool relu_input) {
  constexpr std::int64_t kBlock = 64;
  float left[kBlock];
  for (std::int64_t c0 = 0; c0 < n; c0 += kBlock) {
    const std::int64_t cn = std::min(kBlock, n - c0);
    if (relu_input) {
      for (std::int64_t ch = 0; ch < cn; ++ch) left[ch] = m[c0 + ch] > 0.0f ? dy[c0 + ch] : 0.0f;
    } else {
      for (std::int64_t ch = 0; ch < cn; ++ch) left[ch] = dy[c0 + ch];
    }
    for (std::int64_t i = 0; i < g.size; ++i) {
      for (std::int64_t j = 0; j < g.size; ++j) {
        const std::int64_t offset = g.window(image, oh, ow, i, j) - image + c0;
        const float* __restrict p = image + offset;
        float* __restrict d = d_image + offset;
        const float* __restrict mc = m + c0;
        if (overwrite) {
          for (std::int64_t ch = 0; ch < cn; ++ch) {
            const bool hit = p[ch] == mc[ch];
            d[ch] = hit ? left[ch] : 0.0f;
            left[ch] = hit ? 0.0f : left[ch];
          }
        } else {
          for (std::int64_t ch = 0; ch < cn; ++ch) {
            const bool hit = p[ch] == mc[ch];
            d[ch] += hit ? left[ch] : 0.0f;
            left[ch] = hit ? 0.0f : left[ch];
          }
        }
      }
    }
  }
}

}  // namespace

bool MaxPool2D::absorb_input_derivative(Activation activation) {
  relu_input_ = activation == Activation::ReLU;
  return relu_input_;
}

void MaxPool2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  const Shape &in = in_shape(), &out = out_shape();
  const PoolGeometry g{in[0], in[1], in[2], out[0], out[1], size_, stride_};
  const std::int64_t in_size = in.elements(), out_size = out.elements();
  // Side by side, the windows write every input they cover once; only the rows and columns past the
  // last window (an odd size) need zeros first. Overlapping or gapped windows add into zeros.
  const bool tiled = stride_ == size_;
  const std::int64_t covered_h = g.oh * size_, covered_w = g.ow * size_;
  detail::for_each_chunk(
      batch, detail::images_per_task(in, detail::kElementwiseChunk), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t n = begin; n < end; ++n) {
          const float* image = x.data() + n * in_size;
          float* d_image = dx->data() + n * in_size;
          if (!tiled) {
            std::fill(d_image, d_image + in_size, 0.0f);
          } else if (covered_h < g.h || covered_w < g.w) {
            for (std::int64_t r = 0; r < g.h; ++r) {
              const std::int64_t from = r < covered_h ? covered_w : 0;
              std::fill(d_image + (r * g.w + from) * g.c, d_image + (r + 1) * g.w * g.c, 0.0f);
            }
          }
          for (std::int64_t oh = 0; oh < g.oh; ++oh) {
            for (std::int64_t ow = 0; ow < g.ow; ++ow) {
              const std::int64_t at = n * out_size + (oh * g.ow + ow) * g.c;
              route_gradient(g, image, d_image, oh, ow, y.data() + at, dy.data() + at, g.c, tiled, relu_input_);
            }
          }
        }
      });
}

}  // namespace tessera
