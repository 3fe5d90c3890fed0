// Normalize: y = (x − mean) / stddev, elementwise, with constants fixed at construction (a data
// set's pixel statistics, say). As a network's first layer it makes the model file carry the
// normalisation its inputs need.
#pragma once

#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera {

class Normalize final : public Layer {
 public:
  // Throws std::invalid_argument unless mean is finite and stddev finite and > 0.
  Normalize(float mean, float stddev);

  std::string name() const override;
  // Recorded by their bits, so that a model file gives back exactly these constants.
  LayerSpec spec() const override;
  float mean() const noexcept { return mean_; }
  float stddev() const noexcept { return stddev_; }

  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy / stddev.
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override { return in; }

 private:
  float mean_, stddev_;
};

}  // namespace tessera
