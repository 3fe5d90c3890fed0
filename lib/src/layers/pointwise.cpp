// LeakyReLU, ELU, GELU, SiLU: forward and backward as elementwise loops over fixed chunks (the same
// split at any thread count), each backward reading the input it needs.
#include "tessera/layers/pointwise.hpp"

#include <bit>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "layers/float_arg.hpp"
#include "parallel.hpp"

namespace tessera {

namespace {

// y[i] = f(x[i]).
template <class F>
void forward_map(const Layer& layer, const Tensor& x, Tensor& y, F f) {
  detail::check_forward(layer, x, y);
  const float* in = x.data();
  float* out = y.data();
  detail::for_each_chunk(x.size(), detail::kElementwiseChunk, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = f(in[i]);
  });
}

// dx[i] = dy[i] · f'(x[i], y[i]).
template <class F>
void backward_map(const Layer& layer, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, F derivative) {
  detail::check_backward(layer, x, y, dy, dx);
  if (dx == nullptr) return;
  const float* in = x.data();
  const float* out = y.data();
  const float* g = dy.data();
  float* gx = dx->data();
  detail::for_each_chunk(x.size(), detail::kElementwiseChunk, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) gx[i] = g[i] * derivative(in[i], out[i]);
  });
}

std::string with_value(const char* kind, float v) {
  char text[64];
  std::snprintf(text, sizeof text, "%s(%g)", kind, static_cast<double>(v));
  return text;
}

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

}  // namespace

LeakyReLU::LeakyReLU(float slope) : slope_(slope) {
  if (!std::isfinite(slope) || slope < 0.0f) {
    throw std::invalid_argument("tessera::LeakyReLU: the slope must be finite and >= 0, got " + std::to_string(slope));
  }
}
std::string LeakyReLU::name() const { return with_value("LeakyReLU", slope_); }
LayerSpec LeakyReLU::spec() const { return {"LeakyReLU", {detail::float_arg(slope_)}}; }

void LeakyReLU::forward(const Tensor& x, Tensor& y) {
  const float s = slope_;
  forward_map(*this, x, y, [s](float v) { return v > 0.0f ? v : s * v; });
}
void LeakyReLU::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  const float s = slope_;
  backward_map(*this, x, y, dy, dx, [s](float v, float) { return v > 0.0f ? 1.0f : s; });
}

ELU::ELU(float alpha) : alpha_(alpha) {
  if (!std::isfinite(alpha) || !(alpha > 0.0f)) {
    throw std::invalid_argument("tessera::ELU: alpha must be finite and > 0, got " + std::to_string(alpha));
  }
}
std::string ELU::name() const { return with_value("ELU", alpha_); }
LayerSpec ELU::spec() const { return {"ELU", {detail::float_arg(alpha_)}}; }

void ELU::forward(const Tensor& x, Tensor& y) {
  const float a = alpha_;
  forward_map(*this, x, y, [a](float v) { return v > 0.0f ? v : a * std::expm1(v); });
}
void ELU::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  const float a = alpha_;
  backward_map(*this, x, y, dy, dx, [a](float v, float out) { return v > 0.0f ? 1.0f : out + a; });
}

void GELU::forward(const Tensor& x, Tensor& y) {
  forward_map(*this, x, y, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); });
}
void GELU::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  backward_map(*this, x, y, dy, dx, [](float v, float) {
    const float cdf = 0.5f * (1.0f + std::erf(v * kInvSqrt2));
    return cdf + v * kInvSqrt2Pi * std::exp(-0.5f * v * v);
  });
}

void SiLU::forward(const Tensor& x, Tensor& y) {
  forward_map(*this, x, y, [](float v) { return v / (1.0f + std::exp(-v)); });
}
void SiLU::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  backward_map(*this, x, y, dy, dx, [](float v, float) {
    const float s = 1.0f / (1.0f + std::exp(-v));
    return s * (1.0f + v * (1.0f - s));
  });
}

}  // namespace tessera
