// Activation layers. The elementwise ones (ReLU, Sigmoid, Tanh, Identity) keep the input's shape and
// compute their derivative from their output alone, which is what lets a preceding Dense compute them
// in its GEMM epilogue. Softmax normalises each example (for inference; train with
// SoftmaxCrossEntropy on the logits).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera {

class ElementwiseActivation : public Layer {
 public:
  explicit ElementwiseActivation(Activation kind) : kind_(kind) {}

  std::string name() const override;
  LayerSpec spec() const override { return {name(), {}}; }
  std::optional<Activation> epilogue_activation() const override { return kind_; }
  bool derivative_from_output() const override { return true; }
  // y = f(x), any shape.
  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy · f'(x), with f' written in terms of y: ReLU 1[y > 0], sigmoid y(1 − y), tanh 1 − y².
  // x is not read (it may be the same tensor as y, as when the activation is fused).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

  Activation kind() const noexcept { return kind_; }

 protected:
  Shape infer_out_shape(const Shape& in) const override { return in; }

 private:
  Activation kind_;
};

class ReLU final : public ElementwiseActivation {
 public:
  ReLU() : ElementwiseActivation(Activation::ReLU) {}
};

class Sigmoid final : public ElementwiseActivation {
 public:
  Sigmoid() : ElementwiseActivation(Activation::Sigmoid) {}
};

class Tanh final : public ElementwiseActivation {
 public:
  Tanh() : ElementwiseActivation(Activation::Tanh) {}
};

class Identity final : public ElementwiseActivation {
 public:
  Identity() : ElementwiseActivation(Activation::Identity) {}
};

// The elementwise activation layer of `kind` (ReLU(), Sigmoid(), ...), for code that picks it at run
// time.
std::unique_ptr<ElementwiseActivation> make_activation(Activation kind);

class Softmax final : public Layer {
 public:
  std::string name() const override { return "Softmax"; }
  LayerSpec spec() const override { return {"Softmax", {}}; }
  // Each example [B, n]: y_i = exp(x_i − max x) / Σ_j exp(x_j − max x).
  void forward(const Tensor& x, Tensor& y) override;
  // dx_i = y_i (dy_i − Σ_j dy_j y_j).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;
};

// log(softmax(x)) computed stably: what PyTorch classifiers trained with NLLLoss end with.
class LogSoftmax final : public Layer {
 public:
  std::string name() const override { return "LogSoftmax"; }
  LayerSpec spec() const override { return {"LogSoftmax", {}}; }
  // Each example [B, n]: y_i = x_i − max x − log Σ_j exp(x_j − max x).
  void forward(const Tensor& x, Tensor& y) override;
  // dx_i = dy_i − exp(y_i) Σ_j dy_j.
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;
};

}  // namespace tessera
