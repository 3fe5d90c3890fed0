// Max pooling over NHWC images.
#pragma once

#include <cstdint>
#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera {

class MaxPool2D final : public Layer {
 public:
  // Square windows of `size` pixels, `stride` apart (0: the window size, windows side by side).
  // Throws std::invalid_argument for size < 1 or stride < 0.
  explicit MaxPool2D(std::int64_t size, std::int64_t stride = 0);

  std::string name() const override;
  LayerSpec spec() const override { return {"MaxPool2D", {size_, stride_}}; }
  std::int64_t size() const noexcept { return size_; }
  std::int64_t stride() const noexcept { return stride_; }

  // x: [B, H, W, C] → y: [B, (H − size) / stride + 1, (W − size) / stride + 1, C], each output the
  // largest input of its window (windows that would reach past the edge are dropped).
  void forward(const Tensor& x, Tensor& y) override;
  // Each output's gradient goes to the first input of its window (in row-major order) equal to the
  // output: the maximum, as in PyTorch; overlapping windows add.
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;
  // Takes ReLU's: the gradient reaches only inputs that are a window's maximum, and ReLU's derivative
  // there is 1 unless the maximum is 0. Saves a pass over the (larger) input.
  bool absorb_input_derivative(Activation activation) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;

 private:
  std::int64_t size_, stride_;
  bool relu_input_ = false;
};

}  // namespace tessera
