// Flatten: an example of any shape as one vector (between convolutions and Dense layers).
#pragma once

#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera {

class Flatten final : public Layer {
 public:
  std::string name() const override { return "Flatten"; }
  LayerSpec spec() const override { return {"Flatten", {}}; }
  // x: [B, d1, d2, ...] → y: [B, d1·d2·...], the same values in the same order.
  void forward(const Tensor& x, Tensor& y) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override { return Shape{in.elements()}; }
};

}  // namespace tessera
