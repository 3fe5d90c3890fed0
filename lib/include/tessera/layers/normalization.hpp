// BatchNorm and LayerNorm: normalisation with a learned scale (gamma) and shift (beta) per channel.
// BatchNorm's running statistics are buffers (saved, never trained): batch statistics while training,
// running ones in evaluation, momentum and eps as in PyTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/layers/layer.hpp"

namespace tessera {

// Over the last extent of each example (features for [B, F], channels for NHWC [B, H, W, C]), the
// statistics taken over the batch and every other position. Parameters: gamma (C, initialised 1),
// beta (C, 0). Buffers: running mean (C, 0), running variance (C, 1).
class BatchNorm final : public Layer {
 public:
  // Throws std::invalid_argument unless channels >= 1, 0 <= momentum <= 1 and eps > 0 (finite).
  explicit BatchNorm(std::int64_t channels, float momentum = 0.1f, float eps = 1e-5f);

  std::string name() const override;
  // Channels, and momentum and eps by their bits.
  LayerSpec spec() const override;
  std::int64_t channels() const noexcept { return channels_; }
  std::int64_t parameter_count() const override { return 2 * channels_; }
  std::int64_t buffer_count() const override { return 2 * channels_; }
  void bind(float* values, float* gradients) override;
  void bind_buffers(float* buffers) override;
  void initialize(Init init, Rng& rng) override;
  void set_training(bool training) override { training_ = training; }

  // Training: per channel, mean and biased variance over the N = B·(positions) values, y = (x − mean)
  // / sqrt(var + eps) · gamma + beta, and the running statistics move by momentum towards them (the
  // variance unbiased, N / (N − 1), as PyTorch). Evaluation: the running statistics instead.
  void forward(const Tensor& x, Tensor& y) override;
  // Training: dgamma = Σ dy·x̂, dbeta = Σ dy, dx = gamma/σ/N · (N·dy − Σ dy − x̂·Σ dy·x̂) with x̂ the
  // normalised input of the last forward. Evaluation: dx = dy·gamma/σ_running.
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;
  bool inference_affine(std::span<float> scale, std::span<float> shift) const override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;

 private:
  std::int64_t channels_;
  float momentum_, eps_;
  bool training_ = true;
  float *gamma_ = nullptr, *d_gamma_ = nullptr, *running_ = nullptr;  // running: mean, then variance
  // Of the last forward, and scratch reused by every call: a training step allocates nothing.
  std::vector<float> mean_, inv_std_, scale_, mean_dy_, mean_dy_xhat_;
  std::vector<double> sums_, partials_;
};

// Over the last extent of each example position (features), per row: y = (x − mean) / sqrt(var + eps)
// · gamma + beta, as PyTorch's LayerNorm(features). Parameters: gamma (1), beta (0).
class LayerNorm final : public Layer {
 public:
  // Throws std::invalid_argument unless features >= 1 and eps > 0 (finite).
  explicit LayerNorm(std::int64_t features, float eps = 1e-5f);

  std::string name() const override;
  LayerSpec spec() const override;
  std::int64_t parameter_count() const override { return 2 * features_; }
  void bind(float* values, float* gradients) override;
  void initialize(Init init, Rng& rng) override;

  // x, y: [B, ..., features].
  void forward(const Tensor& x, Tensor& y) override;
  // Per row: dx = (gamma·dy − mean(gamma·dy) − x̂·mean(gamma·dy·x̂)) / σ; dgamma = Σ dy·x̂, dbeta = Σ dy
  // over the rows, summed in row order. Uses the row statistics of the last forward (of this x).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;

 private:
  std::int64_t features_;
  float eps_;
  float *gamma_ = nullptr, *d_gamma_ = nullptr;
  std::vector<float> row_mean_, row_inv_;  // each row's statistics, from the last forward
  std::vector<double> sums_, partials_;
};

}  // namespace tessera
