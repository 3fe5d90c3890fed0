// Normalize: one pass, split over threads in fixed chunks.
#include "tessera/layers/normalize.hpp"

#include <bit>
#include <cmath>
#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "layers/float_arg.hpp"
#include "parallel.hpp"

namespace tessera {

Normalize::Normalize(float mean, float stddev) : mean_(mean), stddev_(stddev) {
  if (!std::isfinite(mean) || !std::isfinite(stddev) || !(stddev > 0.0f)) {
    throw std::invalid_argument("tessera::Normalize: mean must be finite and stddev finite and > 0, got " + name());
  }
}

std::string Normalize::name() const {
  return "Normalize(mean " + std::to_string(mean_) + ", stddev " + std::to_string(stddev_) + ")";
}

LayerSpec Normalize::spec() const { return {"Normalize", {detail::float_arg(mean_), detail::float_arg(stddev_)}}; }

void Normalize::forward(const Tensor& x, Tensor& y) {
  detail::check_forward(*this, x, y);
  const float scale = 1.0f / stddev_, shift = -mean_ / stddev_;
  detail::for_each_chunk(x.size(), detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
    const float* in = x.data();
    float* out = y.data();
    for (std::int64_t i = begin; i < end; ++i) out[i] = in[i] * scale + shift;
  });
}

void Normalize::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  const float scale = 1.0f / stddev_;
  detail::for_each_chunk(dy.size(), detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dx->data()[i] = dy.data()[i] * scale;
  });
}

}  // namespace tessera
