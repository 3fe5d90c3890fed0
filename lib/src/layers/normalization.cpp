// BatchNorm and LayerNorm. Every reduction runs over fixed chunks of rows into per-chunk partials,
// added in chunk order: the same sums whatever the thread count.
#include "tessera/layers/normalization.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "layers/float_arg.hpp"
#include "parallel.hpp"

namespace tessera {

namespace {

// Rows per chunk for rows of `width` values: about kElementwiseChunk values a chunk.
std::int64_t rows_per_chunk(std::int64_t width) {
  return std::max<std::int64_t>(1, detail::kElementwiseChunk / std::max<std::int64_t>(1, width));
}

// Per channel over rows [0, rows) of `width` channels: Σ f(row, channel) in double, chunk by chunk
// into `partials` (resized as needed), then the chunks in order into `out`.
template <class F>
void channel_sums(std::int64_t rows, std::int64_t width, std::vector<double>& partials, double* out, F f) {
  const std::int64_t chunk = rows_per_chunk(width);
  const std::int64_t chunks = (rows + chunk - 1) / chunk;
  partials.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, chunks) * width), 0.0);
  detail::for_each_chunk(rows, chunk, [&](std::int64_t begin, std::int64_t end) {
    double* p = partials.data() + (begin / chunk) * width;
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t c = 0; c < width; ++c) p[c] += f(r, c);
    }
  });
  std::fill(out, out + width, 0.0);
  for (std::int64_t k = 0; k < chunks; ++k) {
    for (std::int64_t c = 0; c < width; ++c) out[c] += partials[static_cast<std::size_t>(k * width + c)];
  }
}

// Both normalise the last extent of an example: it must be `n`.
Shape normalised_shape(const std::string& name, const Shape& in, std::int64_t n) {
  if (in.rank() < 1 || in[in.rank() - 1] != n) {
    throw std::invalid_argument(name + " normalises a last extent of " + std::to_string(n) + ", got " + in.to_string());
  }
  return in;
}

// gamma = 1 and beta = 0: the identity affine map both start from.
void identity_affine(const std::string& name, float* gamma, std::int64_t n) {
  if (gamma == nullptr) throw std::logic_error(name + " has no parameters: add it to a Sequential first");
  std::fill(gamma, gamma + n, 1.0f);
  std::fill(gamma + n, gamma + 2 * n, 0.0f);
}

void check_settings(const char* who, std::int64_t n, float eps) {
  if (n < 1 || n > (std::int64_t{1} << 30) || !std::isfinite(eps) || !(eps > 0.0f)) {
    throw std::invalid_argument(std::string(who) + ": the size must be >= 1 and eps finite and > 0, got " +
                                std::to_string(n) + " and " + std::to_string(eps));
  }
}
}  // namespace

// ---- BatchNorm ----

BatchNorm::BatchNorm(std::int64_t channels, float momentum, float eps)
    : channels_(channels), momentum_(momentum), eps_(eps) {
  check_settings("tessera::BatchNorm", channels, eps);
  if (!(momentum >= 0.0f && momentum <= 1.0f)) {
    throw std::invalid_argument("tessera::BatchNorm: momentum must be in [0, 1], got " + std::to_string(momentum));
  }
}

std::string BatchNorm::name() const {
  char text[96];
  std::snprintf(text, sizeof text, "BatchNorm(%lld, momentum %g, eps %g)", static_cast<long long>(channels_),
                static_cast<double>(momentum_), static_cast<double>(eps_));
  return text;
}

LayerSpec BatchNorm::spec() const {
  return {"BatchNorm", {channels_, detail::float_arg(momentum_), detail::float_arg(eps_)}};
}

Shape BatchNorm::infer_out_shape(const Shape& in) const { return normalised_shape(name(), in, channels_); }

void BatchNorm::bind(float* values, float* gradients) {
  gamma_ = values;
  d_gamma_ = gradients;
}

void BatchNorm::bind_buffers(float* buffers) {
  running_ = buffers;
  std::fill(running_, running_ + channels_, 0.0f);
  std::fill(running_ + channels_, running_ + 2 * channels_, 1.0f);
}

void BatchNorm::initialize(Init /*init*/, Rng& /*rng*/) { identity_affine(name(), gamma_, channels_); }

bool BatchNorm::inference_affine(std::span<float> scale, std::span<float> shift) const {
  if (gamma_ == nullptr || running_ == nullptr)
    throw std::logic_error(name() + " has no parameters: add it to a Graph first");
  const std::int64_t c = channels_;
  for (std::int64_t j = 0; j < c; ++j) {
    const float s = gamma_[j] / std::sqrt(running_[c + j] + eps_);
    scale[static_cast<std::size_t>(j)] = s;
    shift[static_cast<std::size_t>(j)] = gamma_[c + j] - running_[j] * s;
  }
  return true;
}

void BatchNorm::forward(const Tensor& x, Tensor& y) {
  const std::int64_t batch = detail::check_forward(*this, x, y);
  if (gamma_ == nullptr || running_ == nullptr) {
    throw std::logic_error(name() + " has no parameters: add it to a Sequential first");
  }
  const std::int64_t c = channels_;
  const std::int64_t rows = batch * (in_shape().elements() / c);
  mean_.resize(static_cast<std::size_t>(c));
  inv_std_.resize(static_cast<std::size_t>(c));
  const float* in = x.data();
  if (training_) {
    if (rows < 2) throw std::invalid_argument(name() + ": training needs more than one value per channel");
    sums_.resize(static_cast<std::size_t>(2 * c));
    double* sum = sums_.data();
    double* squares = sum + c;
    channel_sums(rows, c, partials_, sum,
                 [&](std::int64_t r, std::int64_t j) { return static_cast<double>(in[r * c + j]); });
    for (std::int64_t j = 0; j < c; ++j) {
      mean_[static_cast<std::size_t>(j)] = static_cast<float>(sum[j] / static_cast<double>(rows));
    }
    channel_sums(rows, c, partials_, squares, [&](std::int64_t r, std::int64_t j) {
      const double d = static_cast<double>(in[r * c + j]) - static_cast<double>(mean_[static_cast<std::size_t>(j)]);
      return d * d;
    });
    const float m = momentum_;
    for (std::int64_t j = 0; j < c; ++j) {
      const double var = squares[j] / static_cast<double>(rows);
      inv_std_[static_cast<std::size_t>(j)] = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps_)));
      const auto unbiased = static_cast<float>(var * static_cast<double>(rows) / static_cast<double>(rows - 1));
      running_[j] = (1.0f - m) * running_[j] + m * mean_[static_cast<std::size_t>(j)];
      running_[c + j] = (1.0f - m) * running_[c + j] + m * unbiased;
    }
  } else {
    for (std::int64_t j = 0; j < c; ++j) {
      mean_[static_cast<std::size_t>(j)] = running_[j];
      inv_std_[static_cast<std::size_t>(j)] = 1.0f / std::sqrt(running_[c + j] + eps_);
    }
  }
  const float* mean = mean_.data();
  const float* inv = inv_std_.data();
  const float* gamma = gamma_;
  const float* beta = gamma_ + c;
  float* out = y.data();
  detail::for_each_chunk(rows, rows_per_chunk(c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t j = 0; j < c; ++j) out[r * c + j] = (in[r * c + j] - mean[j]) * inv[j] * gamma[j] + beta[j];
    }
  });
}

void BatchNorm::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) {
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  const std::int64_t c = channels_;
  const std::int64_t rows = batch * (in_shape().elements() / c);
  if (mean_.size() != static_cast<std::size_t>(c)) throw std::logic_error(name() + ": backward before forward");
  const float* in = x.data();
  const float* g = dy.data();
  const float* mean = mean_.data();
  const float* inv = inv_std_.data();
  sums_.resize(static_cast<std::size_t>(2 * c));
  double* sum_dy = sums_.data();
  double* sum_dy_xhat = sum_dy + c;
  channel_sums(rows, c, partials_, sum_dy,
               [&](std::int64_t r, std::int64_t j) { return static_cast<double>(g[r * c + j]); });
  channel_sums(rows, c, partials_, sum_dy_xhat, [&](std::int64_t r, std::int64_t j) {
    return static_cast<double>(g[r * c + j]) * static_cast<double>((in[r * c + j] - mean[j]) * inv[j]);
  });
  for (std::int64_t j = 0; j < c; ++j) {
    const auto dgamma = static_cast<float>(sum_dy_xhat[j]);
    const auto dbeta = static_cast<float>(sum_dy[j]);
    d_gamma_[j] = accumulate ? d_gamma_[j] + dgamma : dgamma;
    d_gamma_[c + j] = accumulate ? d_gamma_[c + j] + dbeta : dbeta;
  }
  if (dx == nullptr) return;
  const float* gamma = gamma_;
  float* gx = dx->data();
  if (!training_) {
    detail::for_each_chunk(rows, rows_per_chunk(c), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        for (std::int64_t j = 0; j < c; ++j) gx[r * c + j] = g[r * c + j] * gamma[j] * inv[j];
      }
    });
    return;
  }
  const double n = static_cast<double>(rows);
  scale_.resize(static_cast<std::size_t>(c));
  mean_dy_.resize(scale_.size());
  mean_dy_xhat_.resize(scale_.size());
  float* scale = scale_.data();
  float* a = mean_dy_.data();
  float* b = mean_dy_xhat_.data();
  for (std::int64_t j = 0; j < c; ++j) {
    scale[j] = gamma[j] * inv[j];
    a[j] = static_cast<float>(sum_dy[j] / n);
    b[j] = static_cast<float>(sum_dy_xhat[j] / n);
  }
  detail::for_each_chunk(rows, rows_per_chunk(c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t j = 0; j < c; ++j) {
        const float xhat = (in[r * c + j] - mean[j]) * inv[j];
        gx[r * c + j] = scale[j] * (g[r * c + j] - a[j] - xhat * b[j]);
      }
    }
  });
}

// ---- LayerNorm ----

LayerNorm::LayerNorm(std::int64_t features, float eps) : features_(features), eps_(eps) {
  check_settings("tessera::LayerNorm", features, eps);
}

std::string LayerNorm::name() const {
  char text[80];
  std::snprintf(text, sizeof text, "LayerNorm(%lld, eps %g)", static_cast<long long>(features_),
                static_cast<double>(eps_));
  return text;
}

LayerSpec LayerNorm::spec() const { return {"LayerNorm", {features_, detail::float_arg(eps_)}}; }

Shape LayerNorm::infer_out_shape(const Shape& in) const { return normalised_shape(name(), in, features_); }

void LayerNorm::bind(float* values, float* gradients) {
  gamma_ = values;
  d_gamma_ = gradients;
}

void LayerNorm::initialize(Init /*init*/, Rng& /*rng*/) { identity_affine(name(), gamma_, features_); }

namespace {
// A row's mean and 1/σ, in double.
void row_statistics(const float* x, std::int64_t n, float eps, float& mean, float& inv_std) {
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
  const double m = sum / static_cast<double>(n);
  double sq = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sq += (static_cast<double>(x[i]) - m) * (static_cast<double>(x[i]) - m);
  mean = static_cast<float>(m);
  inv_std = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(n) + static_cast<double>(eps)));
}
}  // namespace

void LayerNorm::forward(const Tensor& x, Tensor& y) {
  const std::int64_t batch = detail::check_forward(*this, x, y);
  if (gamma_ == nullptr) throw std::logic_error(name() + " has no parameters: add it to a Sequential first");
  const std::int64_t n = features_;
  const std::int64_t rows = batch * (in_shape().elements() / n);
  const float* gamma = gamma_;
  const float* beta = gamma_ + n;
  // Each row's statistics are kept for backward, which then needs no second pass over x.
  row_mean_.resize(static_cast<std::size_t>(rows));
  row_inv_.resize(row_mean_.size());
  float* row_mean = row_mean_.data();
  float* row_inv = row_inv_.data();
  detail::for_each_chunk(rows, rows_per_chunk(n), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* in = x.data() + r * n;
      float* out = y.data() + r * n;
      row_statistics(in, n, eps_, row_mean[r], row_inv[r]);
      for (std::int64_t i = 0; i < n; ++i) out[i] = (in[i] - row_mean[r]) * row_inv[r] * gamma[i] + beta[i];
    }
  });
}

void LayerNorm::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) {
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  const std::int64_t n = features_;
  const std::int64_t rows = batch * (in_shape().elements() / n);
  const float* in = x.data();
  const float* g = dy.data();
  if (row_mean_.size() != static_cast<std::size_t>(rows)) {
    throw std::logic_error(name() + ": backward needs the forward of the same batch first");
  }
  const float* row_mean = row_mean_.data();
  const float* row_inv = row_inv_.data();
  const auto xhat = [&](std::int64_t r, std::int64_t i, float mean, float inv) { return (in[r * n + i] - mean) * inv; };
  // The parameter gradients: per feature over the rows, in fixed chunks.
  sums_.resize(static_cast<std::size_t>(2 * n));
  double* sum_dy = sums_.data();
  double* sum_dy_xhat = sum_dy + n;
  channel_sums(rows, n, partials_, sum_dy,
               [&](std::int64_t r, std::int64_t i) { return static_cast<double>(g[r * n + i]); });
  channel_sums(rows, n, partials_, sum_dy_xhat, [&](std::int64_t r, std::int64_t i) {
    return static_cast<double>(g[r * n + i]) * static_cast<double>(xhat(r, i, row_mean[r], row_inv[r]));
  });
  for (std::int64_t i = 0; i < n; ++i) {
    const auto dgamma = static_cast<float>(sum_dy_xhat[i]);
    const auto dbeta = static_cast<float>(sum_dy[i]);
    d_gamma_[i] = accumulate ? d_gamma_[i] + dgamma : dgamma;
    d_gamma_[n + i] = accumulate ? d_gamma_[n + i] + dbeta : dbeta;
  }
  if (dx == nullptr) return;
  const float* gamma = gamma_;
  detail::for_each_chunk(rows, rows_per_chunk(n), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float mean = row_mean[r], inv = row_inv[r];
      double a = 0.0, b = 0.0;  // means of gamma·dy and gamma·dy·x̂ over the row
      for (std::int64_t i = 0; i < n; ++i) {
        const double gd = static_cast<double>(gamma[i]) * static_cast<double>(g[r * n + i]);
        a += gd;
        b += gd * static_cast<double>(xhat(r, i, mean, inv));
      }
      const auto ma = static_cast<float>(a / static_cast<double>(n)),
                 mb = static_cast<float>(b / static_cast<double>(n));
      float* gx = dx->data() + r * n;
      for (std::int64_t i = 0; i < n; ++i) gx[i] = inv * (gamma[i] * g[r * n + i] - ma - xhat(r, i, mean, inv) * mb);
    }
  });
}

}  // namespace tessera
