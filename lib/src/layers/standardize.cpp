// Standardize: statistics from a data set, and the per-feature affine map over a batch in fixed
// row chunks.
#include "tessera/layers/standardize.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "parallel.hpp"

namespace tessera {

Standardize::Standardize(std::int64_t features) : features_(features) {
  if (features < 1)
    throw std::invalid_argument("tessera::Standardize: features must be >= 1, got " + std::to_string(features));
  own_.assign(static_cast<std::size_t>(2 * features), 0.0f);
  std::fill(own_.begin() + features, own_.end(), 1.0f);
}

Standardize::Standardize(const Standardize& other)
    : Layer(other), features_(other.features_), own_(other.values(), other.values() + 2 * other.features_) {}

Standardize& Standardize::operator=(const Standardize& other) {
  if (this != &other) {
    Layer::operator=(other);
    features_ = other.features_;
    own_.assign(other.values(), other.values() + 2 * other.features_);
    bound_ = nullptr;
  }
  return *this;
}

Standardize::Standardize(std::vector<float> mean, std::vector<float> stddev)
    : Standardize(static_cast<std::int64_t>(std::max<std::size_t>(1, mean.size()))) {
  set_statistics(mean, stddev);
}

void Standardize::set_statistics(const std::vector<float>& mean, const std::vector<float>& stddev) {
  if (static_cast<std::int64_t>(mean.size()) != features_ || static_cast<std::int64_t>(stddev.size()) != features_) {
    throw std::invalid_argument("tessera::Standardize: " + std::to_string(mean.size()) + " means and " +
                                std::to_string(stddev.size()) + " standard deviations for " +
                                std::to_string(features_) + " features");
  }
  for (std::int64_t j = 0; j < features_; ++j) {
    const float m = mean[static_cast<std::size_t>(j)], s = stddev[static_cast<std::size_t>(j)];
    if (!std::isfinite(m) || !std::isfinite(s) || !(s > 0.0f)) {
      throw std::invalid_argument("tessera::Standardize: feature " + std::to_string(j) + " has mean " +
                                  std::to_string(m) + " and stddev " + std::to_string(s) +
                                  " (finite, and stddev > 0, needed)");
    }
  }
  float* v = values();
  for (std::int64_t j = 0; j < features_; ++j) {
    v[j] = mean[static_cast<std::size_t>(j)];
    v[features_ + j] = 1.0f / stddev[static_cast<std::size_t>(j)];
  }
}

void Standardize::fit(const data::Dataset& data) {
  if (data.example_size() != features_ || data.size() == 0) {
    throw std::invalid_argument("tessera::Standardize::fit: " + std::to_string(data.size()) + " examples of " +
                                std::to_string(data.example_size()) + " values for " + name());
  }
  const auto n = static_cast<std::size_t>(features_);
  std::vector<double> sum(n, 0.0), squares(n, 0.0);
  std::vector<float> row(n);
  const auto read = [&](std::int64_t i) {
    if (data.holds_bytes()) {
      const auto bytes = data.image(i);
      for (std::size_t j = 0; j < n; ++j) row[j] = static_cast<float>(bytes[j]) * data.byte_scale();
    } else {
      const auto f = data.features(i);
      std::copy(f.begin(), f.end(), row.begin());
    }
  };
  for (std::int64_t i = 0; i < data.size(); ++i) {
    read(i);
    for (std::size_t j = 0; j < n; ++j) sum[j] += static_cast<double>(row[j]);
  }
  const auto count = static_cast<double>(data.size());
  std::vector<float> mean(n), stddev(n);
  for (std::size_t j = 0; j < n; ++j) mean[j] = static_cast<float>(sum[j] / count);
  // Squares about the mean in a second pass: no cancellation for features far from 0.
  for (std::int64_t i = 0; i < data.size(); ++i) {
    read(i);
    for (std::size_t j = 0; j < n; ++j) {
      const double d = static_cast<double>(row[j]) - sum[j] / count;
      squares[j] += d * d;
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    const auto s = static_cast<float>(std::sqrt(squares[j] / count));
    stddev[j] = s > 0.0f && std::isfinite(1.0f / s) ? s : 1.0f;
  }
  set_statistics(mean, stddev);
}

std::vector<float> Standardize::mean() const { return {values(), values() + features_}; }
std::vector<float> Standardize::scale() const { return {values() + features_, values() + 2 * features_}; }

void Standardize::bind_buffers(float* buffers) {
  std::copy(values(), values() + 2 * features_, buffers);
  bound_ = buffers;
  own_.clear();
  own_.shrink_to_fit();
}

Shape Standardize::infer_out_shape(const Shape& in) const {
  if (in.elements() != features_) {
    throw std::invalid_argument(name() + " takes examples of " + std::to_string(features_) + " values, got " +
                                in.to_string());
  }
  return in;
}

void Standardize::forward(const Tensor& x, Tensor& y) {
  const std::int64_t batch = detail::check_forward(*this, x, y);
  const float* mean = values();
  const float* scale = mean + features_;
  const std::int64_t n = features_;
  // Rows in chunks of about kElementwiseChunk values: each output written by one task.
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, detail::kElementwiseChunk / n);
  detail::for_each_chunk(batch, rows_per_chunk, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* in = x.data() + r * n;
      float* out = y.data() + r * n;
      for (std::int64_t j = 0; j < n; ++j) out[j] = (in[j] - mean[j]) * scale[j];
    }
  });
}

void Standardize::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  const float* scale = values() + features_;
  const std::int64_t n = features_;
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, detail::kElementwiseChunk / n);
  detail::for_each_chunk(batch, rows_per_chunk, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t j = 0; j < n; ++j) dx->data()[r * n + j] = dy.data()[r * n + j] * scale[j];
    }
  });
}

}  // namespace tessera
