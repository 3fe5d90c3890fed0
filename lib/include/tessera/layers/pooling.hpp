// Pooling over NHWC images: max and average over square windows, and the global average.
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

// The mean of each square window, per channel (PyTorch's AvgPool2d without padding).
class AvgPool2D final : public Layer {
 public:
  // Windows of `size` pixels, `stride` apart (0: the window size). Throws std::invalid_argument for
  // size < 1 or stride < 0.
  explicit AvgPool2D(std::int64_t size, std::int64_t stride = 0);

  std::string name() const override;
  LayerSpec spec() const override { return {"AvgPool2D", {size_, stride_}}; }
  // x: [B, H, W, C] → y: [B, (H − size) / stride + 1, (W − size) / stride + 1, C].
  void forward(const Tensor& x, Tensor& y) override;
  // Each input gets dy / size² from every window it is in (overlapping windows add).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;

 private:
  std::int64_t size_, stride_;
};

// The mean over all pixels, per channel: [B, H, W, C] → [B, C] (a vector per image, for a Dense).
class GlobalAvgPool2D final : public Layer {
 public:
  std::string name() const override { return "GlobalAvgPool2D"; }
  LayerSpec spec() const override { return {"GlobalAvgPool2D", {}}; }
  void forward(const Tensor& x, Tensor& y) override;
  // dx[h, w, c] = dy[c] / (H·W).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;
};

}  // namespace tessera
