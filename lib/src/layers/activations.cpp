// Activation layers: elementwise loops split into fixed chunks, and the row-wise softmax.
#include "tessera/layers/activations.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "parallel.hpp"

namespace tessera {

namespace {
std::string_view activation_name(Activation a) {
  switch (a) {
    case Activation::Identity:
      return "Identity";
    case Activation::ReLU:
      return "ReLU";
    case Activation::Sigmoid:
      return "Sigmoid";
    case Activation::Tanh:
      return "Tanh";
  }
  return "?";
}

template <class F>
void for_each_element(std::int64_t n, const F& f) {
  detail::for_each_chunk(n, detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) f(i);
  });
}
}  // namespace

std::string ElementwiseActivation::name() const { return std::string(activation_name(kind_)); }

void ElementwiseActivation::forward(const Tensor& x, Tensor& y) {
  detail::check_forward(*this, x, y);
  const float* in = x.data();
  float* out = y.data();
  switch (kind_) {
    case Activation::Identity:
      y.copy_from(x);
      break;
    case Activation::ReLU:
      for_each_element(x.size(), [=](std::int64_t i) { out[i] = std::max(in[i], 0.0f); });
      break;
    case Activation::Sigmoid:
      for_each_element(x.size(), [=](std::int64_t i) { out[i] = 1.0f / (1.0f + std::exp(-in[i])); });
      break;
    case Activation::Tanh:
      for_each_element(x.size(), [=](std::int64_t i) { out[i] = std::tanh(in[i]); });
      break;
  }
}

void ElementwiseActivation::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx,
                                     bool /*accumulate*/) {
  detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  const float* out = y.data();
  const float* g = dy.data();
  float* gx = dx->data();
  switch (kind_) {
    case Activation::Identity:
      dx->copy_from(dy);
      break;
    case Activation::ReLU:
      for_each_element(y.size(), [=](std::int64_t i) { gx[i] = out[i] > 0.0f ? g[i] : 0.0f; });
      break;
    case Activation::Sigmoid:
      for_each_element(y.size(), [=](std::int64_t i) { gx[i] = g[i] * out[i] * (1.0f - out[i]); });
      break;
    case Activation::Tanh:
      for_each_element(y.size(), [=](std::int64_t i) { gx[i] = g[i] * (1.0f - out[i] * out[i]); });
      break;
  }
}

Shape Softmax::infer_out_shape(const Shape& in) const {
  if (in.rank() != 1 || in[0] < 1) {
    throw std::invalid_argument("Softmax takes vectors of shape [n] with n >= 1, got " + in.to_string());
  }
  return in;
}

void Softmax::forward(const Tensor& x, Tensor& y) {
  const std::int64_t batch = detail::check_forward(*this, x, y);
  const std::int64_t n = in_shape()[0];
  for (std::int64_t r = 0; r < batch; ++r) {
    const float* in = x.data() + r * n;
    float* out = y.data() + r * n;
    const float top = *std::max_element(in, in + n);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) sum += (out[i] = std::exp(in[i] - top));
    const float inv = 1.0f / sum;
    for (std::int64_t i = 0; i < n; ++i) out[i] *= inv;
  }
}

void Softmax::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  const std::int64_t n = in_shape()[0];
  for (std::int64_t r = 0; r < batch; ++r) {
    const float* out = y.data() + r * n;
    const float* g = dy.data() + r * n;
    float* gx = dx->data() + r * n;
    float dot = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) dot += g[i] * out[i];
    for (std::int64_t i = 0; i < n; ++i) gx[i] = out[i] * (g[i] - dot);
  }
}

}  // namespace tessera
