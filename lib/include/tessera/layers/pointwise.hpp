// Elementwise activations whose derivative needs their input or a setting of their own: LeakyReLU,
// ELU, GELU (exact, with erf), SiLU. None of them is an epilogue a GEMM computes, and none reports
// derivative_from_output(), so the network never fuses them into the preceding layer or lets a
// following layer absorb their derivative: their input stays in its own buffer for backward.
#pragma once

#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera {

// The shared shape rule and the loops; each kind gives f (forward) and f' (of x and y).
class PointwiseLayer : public Layer {
 protected:
  Shape infer_out_shape(const Shape& in) const override { return in; }
};

// y = x for x > 0, slope·x otherwise (slope >= 0, as PyTorch's negative_slope; default 0.01).
class LeakyReLU final : public PointwiseLayer {
 public:
  // Throws std::invalid_argument unless slope is finite and >= 0.
  explicit LeakyReLU(float slope = 0.01f);
  std::string name() const override;
  LayerSpec spec() const override;
  float slope() const noexcept { return slope_; }
  // x, y: [B, ...] any shape.
  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy · (1 if x > 0 else slope).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 private:
  float slope_;
};

// y = x for x > 0, alpha·(exp(x) − 1) otherwise (alpha > 0; default 1).
class ELU final : public PointwiseLayer {
 public:
  // Throws std::invalid_argument unless alpha is finite and > 0.
  explicit ELU(float alpha = 1.0f);
  std::string name() const override;
  LayerSpec spec() const override;
  float alpha() const noexcept { return alpha_; }
  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy · (1 if x > 0 else y + alpha).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 private:
  float alpha_;
};

// y = x·Φ(x) = ½·x·(1 + erf(x/√2)), the exact GELU (PyTorch's default).
class GELU final : public PointwiseLayer {
 public:
  std::string name() const override { return "GELU"; }
  LayerSpec spec() const override { return {"GELU", {}}; }
  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy · (Φ(x) + x·φ(x)).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;
};

// y = x·σ(x) (also called swish).
class SiLU final : public PointwiseLayer {
 public:
  std::string name() const override { return "SiLU"; }
  LayerSpec spec() const override { return {"SiLU", {}}; }
  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy · σ(x)·(1 + x·(1 − σ(x))).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;
};

}  // namespace tessera
