// Layers that combine several earlier nodes of a Graph: Add (residual connections) and Concat
// (features or channels side by side).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "tessera/layers/layer.hpp"

namespace tessera {

// A layer of two or more inputs. A Graph connects it with connect_inputs() and runs it with
// forward_inputs()/backward_inputs(); the one-input forward and backward are logic errors.
class MergeLayer : public Layer {
 public:
  bool merges_inputs() const final { return true; }
  // Sets the shapes for inputs of shapes `ins` (at least two); throws std::invalid_argument naming
  // the layer and every shape when they cannot be combined.
  void connect_inputs(std::span<const Shape> ins);
  const std::vector<Shape>& in_shapes() const noexcept { return in_shapes_; }

  // xs: one [B, in_k...] per input → y: [B, out...].
  virtual void forward_inputs(std::span<const Tensor> xs, Tensor& y) = 0;
  // Given xs, y and dy = ∂L/∂y: writes dxs[k] = ∂L/∂xs[k] (overwriting) for each k whose pointer is
  // not null.
  virtual void backward_inputs(std::span<const Tensor> xs, const Tensor& y, const Tensor& dy,
                               std::span<Tensor* const> dxs) = 0;

  void forward(const Tensor& x, Tensor& y) final;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) final;

 protected:
  // The output shape for inputs of shapes `ins` (two or more); throws std::invalid_argument.
  virtual Shape infer_merged_shape(std::span<const Shape> ins) const = 0;
  Shape infer_out_shape(const Shape& in) const final;
  // Checks that xs (and y) have the connected shapes with one batch extent; returns the batch.
  std::int64_t check_inputs(std::span<const Tensor> xs, const Tensor& y) const;
  // As check_inputs, and dy like y, one dxs entry per input, each (when not null) like its input.
  void check_gradients(std::span<const Tensor> xs, const Tensor& y, const Tensor& dy,
                       std::span<Tensor* const> dxs) const;

 private:
  std::vector<Shape> in_shapes_;
};

// y = x_0 + x_1 + ... (summed in input order): inputs of one shape, the output of that shape too.
class Add final : public MergeLayer {
 public:
  std::string name() const override { return "Add"; }
  LayerSpec spec() const override { return {"Add", {}}; }
  double flops_per_example() const override;
  // A ReLU after it (a residual block's) is applied in the same pass over the sum.
  bool fuse(Activation activation) override;
  // xs: k × [B, S...] → y: [B, S...] (max(sum, 0) with a ReLU fused).
  void forward_inputs(std::span<const Tensor> xs, Tensor& y) override;
  // dxs[k] = dy for each k (dy already through a fused ReLU's derivative, by the ReLU's backward).
  void backward_inputs(std::span<const Tensor> xs, const Tensor& y, const Tensor& dy,
                       std::span<Tensor* const> dxs) override;

 protected:
  Shape infer_merged_shape(std::span<const Shape> ins) const override;

 private:
  bool relu_ = false;
};

// The inputs side by side along their last axis: features of [F] inputs, channels of [H, W, C]
// images (NHWC). Every other extent must agree.
class Concat final : public MergeLayer {
 public:
  std::string name() const override { return "Concat"; }
  LayerSpec spec() const override { return {"Concat", {}}; }
  // xs: [B, ..., C_k] → y: [B, ..., C_0 + C_1 + ...], input k's values at offset C_0 + ... + C_{k-1}.
  void forward_inputs(std::span<const Tensor> xs, Tensor& y) override;
  // dxs[k] is the slice of dy that input k filled.
  void backward_inputs(std::span<const Tensor> xs, const Tensor& y, const Tensor& dy,
                       std::span<Tensor* const> dxs) override;

 protected:
  Shape infer_merged_shape(std::span<const Shape> ins) const override;
};

}  // namespace tessera
