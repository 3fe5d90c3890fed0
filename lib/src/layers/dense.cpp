// Dense: forward as one gemm with a fused epilogue; backward as two gemm calls and a column sum.
#include "tessera/layers/dense.hpp"

#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "layers/column_sums.hpp"
#include "layers/output_affine.hpp"
#include "layers/sparse_input.hpp"

namespace tessera {

Dense::Dense(std::int64_t in, std::int64_t out) : in_(in), out_(out) {
  // The guard on the product keeps in·out + out far from overflow (sizes may come from a file).
  if (in < 1 || out < 1 || in > (std::int64_t{1} << 31) || out > (std::int64_t{1} << 31) ||
      in * out > (std::int64_t{1} << 40)) {
    throw std::invalid_argument("tessera::Dense: in and out must be >= 1 (and in·out <= 2^40), got Dense(" +
                                std::to_string(in) + ", " + std::to_string(out) + ")");
  }
}

Dense::Dense(Dense&&) noexcept = default;
Dense& Dense::operator=(Dense&&) noexcept = default;
Dense::~Dense() = default;

std::string Dense::name() const { return "Dense(" + std::to_string(in_) + ", " + std::to_string(out_) + ")"; }

Shape Dense::infer_out_shape(const Shape& /*in*/) const { return Shape{out_}; }

void Dense::bind(float* values, float* gradients) {
  w_ = values;
  dw_ = gradients;
}

void Dense::require_bound() const {
  if (w_ == nullptr) {
    throw std::logic_error(name() + " has no parameters: add it to a Sequential (or bind() it) first");
  }
}

void Dense::initialize(Init init, Rng& rng) {
  require_bound();
  init_weights(init, w_, in_ * out_, in_, out_, rng);
  init_biases(init, w_ + in_ * out_, out_, rng);
}

bool Dense::fuse(Activation activation) {
  fused_ = activation;
  return true;
}

void Dense::set_output_affine(std::span<const float> scale, std::span<const float> shift) {
  require_bound();
  if (!folded_) folded_ = std::make_unique<detail::FoldedParameters>();
  folded_->set(name(), w_, in_, out_, scale, shift);
}

void Dense::forward(const Tensor& x, Tensor& y) {
  require_bound();
  const std::int64_t batch = detail::check_forward(*this, x, y);
  // The parameters, or for inference a copy with a BatchNorm folded in.
  const float* w = folded_ ? folded_->weights(w_) : w_;
  const Epilogue epilogue{w + in_ * out_, fused_.value_or(Activation::Identity)};
  forward_was_sparse_ = false;
  if (reads_data_) {
    if (!sparse_) sparse_ = std::make_unique<detail::SparseBatch>();
    forward_was_sparse_ = sparse_->build(x.data(), batch, in_, kSparseDensity);
  }
  timed_gemm([&] {
    if (forward_was_sparse_) {
      sparse_->times(w, out_, epilogue.bias, epilogue.activation, y.data(), out_);
    } else {
      gemm(Trans::No, Trans::No, batch, out_, in_, 1.0f, x.data(), in_, w, out_, 0.0f, y.data(), out_, epilogue);
    }
  });
}

void Dense::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) {
  require_bound();
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  const float beta = accumulate ? 1.0f : 0.0f;
  timed_gemm([&] {
    // The compressed batch of the forward pass, when it was of this same input.
    if (forward_was_sparse_ && sparse_->source() == x.data()) {
      sparse_->transposed_times(dy.data(), out_, beta, dw_, out_);
    } else {
      gemm(Trans::Yes, Trans::No, in_, out_, batch, 1.0f, x.data(), in_, dy.data(), out_, beta, dw_, out_);
    }
    if (dx != nullptr) {
      gemm(Trans::No, Trans::Yes, batch, in_, out_, 1.0f, dy.data(), out_, w_, out_, 0.0f, dx->data(), in_);
    }
  });
  detail::column_sums(dy.data(), batch, out_, out_, dw_ + in_ * out_, accumulate);
}

Tensor Dense::weights() const {
  require_bound();
  return Tensor::view(w_, Shape{in_, out_});
}
Tensor Dense::bias() const {
  require_bound();
  return Tensor::view(w_ + in_ * out_, Shape{out_});
}
Tensor Dense::weight_gradients() const {
  require_bound();
  return Tensor::view(dw_, Shape{in_, out_});
}
Tensor Dense::bias_gradients() const {
  require_bound();
  return Tensor::view(dw_ + in_ * out_, Shape{out_});
}

}  // namespace tessera
