// The fully connected layer: y = x·W + b, with W stored in × out row-major.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera {

namespace detail {
class FoldedParameters;
class SparseBatch;
}  // namespace detail

class Dense final : public Layer {
 public:
  // Throws std::invalid_argument unless in >= 1 and out >= 1.
  Dense(std::int64_t in, std::int64_t out);
  Dense(Dense&&) noexcept;
  Dense& operator=(Dense&&) noexcept;
  ~Dense() override;

  std::string name() const override;
  LayerSpec spec() const override { return {"Dense", {in_, out_}}; }
  std::optional<Shape> required_in_shape() const override { return Shape{in_}; }
  std::int64_t parameter_count() const override { return in_ * out_ + out_; }
  double flops_per_example() const override { return 2.0 * static_cast<double>(in_) * static_cast<double>(out_); }
  std::int64_t fan_in() const override { return in_; }
  std::int64_t fan_out() const override { return out_; }
  // Parameters are laid out as W (in·out floats, row-major) then b (out floats); gradients alike.
  void bind(float* values, float* gradients) override;
  void initialize(Init init, Rng& rng) override;
  bool fuse(Activation activation) override;
  bool folds_output_affine() const override { return true; }
  void set_output_affine(std::span<const float> scale, std::span<const float> shift) override;
  // When it reads the data and a batch is mostly zeros (at most kSparseDensity nonzero: MNIST's images
  // are 19%), forward and the weight gradient multiply only the nonzeros.
  void set_reads_data(bool reads_data) override { reads_data_ = reads_data; }
  static constexpr double kSparseDensity = 0.35;

  // x: [B, in] → y = act(x·W + b): [B, out], as one gemm call with the bias (and a fused activation)
  // in its epilogue.
  void forward(const Tensor& x, Tensor& y) override;
  // dy: [B, out] (the gradient before any fused activation: the activation layer's backward has
  // already applied its derivative). dW = xᵀ·dy, db = column sums of dy, dx = dy·Wᵀ.
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

  // Views of the bound parameters and gradients: W [in, out], b [out].
  Tensor weights() const;
  Tensor bias() const;
  Tensor weight_gradients() const;
  Tensor bias_gradients() const;

 protected:
  Shape infer_out_shape(const Shape& in) const override;

 private:
  void require_bound() const;

  std::int64_t in_, out_;
  float* w_ = nullptr;
  float* dw_ = nullptr;
  std::optional<Activation> fused_;
  // For inference, with a BatchNorm folded in (Graph::eval); empty otherwise.
  std::unique_ptr<detail::FoldedParameters> folded_;
  bool reads_data_ = false;
  bool forward_was_sparse_ = false;
  std::unique_ptr<detail::SparseBatch> sparse_;
};

}  // namespace tessera
