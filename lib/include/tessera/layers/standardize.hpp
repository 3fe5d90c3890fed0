// Standardize: per-feature standardisation, y_j = (x_j − mean_j) · scale_j with scale_j = 1/stddev_j,
// the statistics computed from a training set and kept in the model as buffers (saved, never
// trained), so that a saved model given raw rows gives the trained answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/data/dataset.hpp"
#include "tessera/layers/layer.hpp"

namespace tessera {

class Standardize final : public Layer {
 public:
  // `features` values per example, each passed through unchanged (mean 0, scale 1) until fit() or
  // set_statistics(). Throws std::invalid_argument for features < 1.
  explicit Standardize(std::int64_t features);
  // The statistics themselves (one mean and one standard deviation per feature). Throws
  // std::invalid_argument unless they are as many, finite, and each stddev > 0.
  Standardize(std::vector<float> mean, std::vector<float> stddev);
  // A copy holds the statistics itself (unbound), whatever the original was bound to.
  Standardize(const Standardize& other);
  Standardize& operator=(const Standardize& other);
  ~Standardize() override = default;

  // Each feature's mean and standard deviation (the population's, 1/n) over `data`'s examples, summed
  // in double in example order; a feature with no spread gets scale 1 (as scikit-learn's
  // StandardScaler does). Throws std::invalid_argument when the data's examples are not
  // features() values or the set is empty.
  void fit(const data::Dataset& data);
  // Throws as the constructor does.
  void set_statistics(const std::vector<float>& mean, const std::vector<float>& stddev);

  std::string name() const override { return "Standardize(" + std::to_string(features_) + ")"; }
  LayerSpec spec() const override { return {"Standardize", {features_}}; }
  std::optional<Shape> required_in_shape() const override { return Shape{features_}; }
  std::int64_t features() const noexcept { return features_; }
  std::vector<float> mean() const;
  std::vector<float> scale() const;  // 1 / stddev

  // Buffers: features() means, then features() scales.
  std::int64_t buffer_count() const override { return 2 * features_; }
  void bind_buffers(float* buffers) override;

  // x: [B, in...] (in... of features() values) → y: the same shape.
  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy · scale (the statistics are constants: no parameter gradient).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override;

 private:
  std::int64_t features_;
  const float* values() const noexcept { return bound_ != nullptr ? bound_ : own_.data(); }
  float* values() noexcept { return bound_ != nullptr ? bound_ : own_.data(); }

  std::vector<float> own_;  // mean then scale, until bound
  float* bound_ = nullptr;  // the network's buffer, once bound
};

}  // namespace tessera
