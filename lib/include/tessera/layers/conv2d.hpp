// Two-dimensional convolution over NHWC images (channels innermost), computed as a GEMM: each output
// pixel's receptive field, k·k·in_channels floats, is a row of the left operand, the weights
// [k, k, in_channels, out_channels] the right one, and the product is the NHWC output.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tessera/layers/layer.hpp"

namespace tessera {

namespace detail {
class FoldedParameters;
struct ConvWorkspace;
}  // namespace detail

class Conv2D final : public Layer {
 public:
  // Square kernel of size `kernel`, the same stride and zero padding along both axes. Throws
  // std::invalid_argument for sizes < 1, a negative padding or a padding of a kernel or more.
  Conv2D(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
         std::int64_t padding = 0);
  Conv2D(Conv2D&&) noexcept;
  Conv2D& operator=(Conv2D&&) noexcept;
  ~Conv2D() override;

  std::string name() const override;
  LayerSpec spec() const override { return {"Conv2D", {in_channels_, out_channels_, kernel_, stride_, padding_}}; }
  std::int64_t parameter_count() const override { return patch_size() * out_channels_ + out_channels_; }
  double flops_per_example() const override;
  std::int64_t fan_in() const override { return patch_size(); }
  std::int64_t fan_out() const override { return kernel_ * kernel_ * out_channels_; }
  // Parameters: W (k·k·in·out floats, [k, k, in, out] row-major) then b (out floats); gradients alike.
  void bind(float* values, float* gradients) override;
  void initialize(Init init, Rng& rng) override;
  bool fuse(Activation activation) override;
  bool folds_output_affine() const override { return true; }
  void set_output_affine(std::span<const float> scale, std::span<const float> shift) override;

  // x: [B, H, W, in] → y = act(conv(x, W) + b): [B, H', W', out] with
  // H' = (H + 2·padding − kernel) / stride + 1 (rounded down), W' alike.
  void forward(const Tensor& x, Tensor& y) override;
  // dy: [B, H', W', out], the gradient before any fused activation. dW and db are summed over the
  // batch in a fixed order of image groups, so they are the same for any number of threads.
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

  std::int64_t in_channels() const noexcept { return in_channels_; }
  std::int64_t out_channels() const noexcept { return out_channels_; }
  std::int64_t kernel() const noexcept { return kernel_; }
  std::int64_t stride() const noexcept { return stride_; }
  std::int64_t padding() const noexcept { return padding_; }

  // Views of the bound parameters and gradients: W [k, k, in, out], b [out].
  Tensor weights() const;
  Tensor bias() const;
  Tensor weight_gradients() const;
  Tensor bias_gradients() const;

 protected:
  Shape infer_out_shape(const Shape& in) const override;

 private:
  std::int64_t patch_size() const noexcept { return kernel_ * kernel_ * in_channels_; }
  void require_bound() const;

  std::int64_t in_channels_, out_channels_, kernel_, stride_, padding_;
  float* w_ = nullptr;
  float* dw_ = nullptr;
  std::optional<Activation> fused_;
  // For inference, with a BatchNorm folded in (Graph::eval); empty otherwise.
  std::unique_ptr<detail::FoldedParameters> folded_;
  std::unique_ptr<detail::ConvWorkspace> workspace_;
};

}  // namespace tessera
