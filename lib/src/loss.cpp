// MSE and softmax cross-entropy: value and gradient in one pass, summed in a fixed order (row by
// row, in double) so the value does not depend on the thread count.
#include "tessera/loss.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tessera {

namespace {
// Names as literals: the checks run every step and must not allocate.
constexpr const char* kMse = "MSE";
constexpr const char* kCrossEntropy = "SoftmaxCrossEntropy";

// Checks output [B, n] against the labels and d_output; returns n.
std::int64_t check(const char* who, const Tensor& output, std::size_t labels, const Tensor* d_output) {
  if (output.rank() != 2) {
    throw std::invalid_argument(std::string(who) + ": output must have shape [B, n], got " +
                                output.shape().to_string());
  }
  if (static_cast<std::int64_t>(labels) != output.rows()) {
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(labels) + " labels for a batch of " +
                                std::to_string(output.rows()));
  }
  if (d_output != nullptr && !(d_output->shape() == output.shape())) {
    throw std::invalid_argument(std::string(who) + ": d_output must have the output's shape " +
                                output.shape().to_string() + ", got " + d_output->shape().to_string());
  }
  return output.row_size();
}

void check_label(const char* who, std::int32_t label, std::int64_t row, std::int64_t classes) {
  if (label < 0 || label >= classes) {
    throw std::invalid_argument(std::string(who) + ": label " + std::to_string(label) + " of example " +
                                std::to_string(row) + " is outside [0, " + std::to_string(classes) + ")");
  }
}

// The MSE pass over one row against target(j).
template <class Target>
double mse_row(const float* y, std::int64_t n, const Target& target, float scale, float* dy) {
  double sum = 0.0;
  for (std::int64_t j = 0; j < n; ++j) {
    const float diff = y[j] - target(j);
    sum += static_cast<double>(diff) * static_cast<double>(diff);
    if (dy != nullptr) dy[j] = scale * diff;
  }
  return sum;
}
}  // namespace

float MSE::compute(const Tensor& output, std::span<const std::int32_t> labels, Tensor* d_output) const {
  const std::int64_t n = check(kMse, output, labels.size(), d_output);
  const std::int64_t batch = output.rows();
  const float scale = 2.0f / static_cast<float>(std::max<std::int64_t>(1, batch * n));
  double sum = 0.0;
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int32_t label = labels[static_cast<std::size_t>(r)];
    check_label(kMse, label, r, n);
    const auto one_hot = [label](std::int64_t j) { return j == label ? 1.0f : 0.0f; };
    sum += mse_row(output.data() + r * n, n, one_hot, scale, d_output ? d_output->data() + r * n : nullptr);
  }
  return static_cast<float>(sum / static_cast<double>(std::max<std::int64_t>(1, batch * n)));
}

float MSE::compute(const Tensor& output, const Tensor& target, Tensor* d_output) const {
  const std::int64_t n = check(kMse, output, static_cast<std::size_t>(output.rows()), d_output);
  if (!(target.shape() == output.shape())) {
    throw std::invalid_argument("MSE: target must have the output's shape " + output.shape().to_string() + ", got " +
                                target.shape().to_string());
  }
  const std::int64_t batch = output.rows();
  const float scale = 2.0f / static_cast<float>(std::max<std::int64_t>(1, batch * n));
  double sum = 0.0;
  for (std::int64_t r = 0; r < batch; ++r) {
    const float* t = target.data() + r * n;
    const auto dense = [t](std::int64_t j) { return t[j]; };
    sum += mse_row(output.data() + r * n, n, dense, scale, d_output ? d_output->data() + r * n : nullptr);
  }
  return static_cast<float>(sum / static_cast<double>(std::max<std::int64_t>(1, batch * n)));
}

float SoftmaxCrossEntropy::compute(const Tensor& output, std::span<const std::int32_t> labels, Tensor* d_output) const {
  const std::int64_t n = check(kCrossEntropy, output, labels.size(), d_output);
  const std::int64_t batch = output.rows();
  const float inv_batch = 1.0f / static_cast<float>(std::max<std::int64_t>(1, batch));
  double sum = 0.0;
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int32_t label = labels[static_cast<std::size_t>(r)];
    check_label(kCrossEntropy, label, r, n);
    const float* z = output.data() + r * n;
    const float top = *std::max_element(z, z + n);
    float total = 0.0f;
    for (std::int64_t j = 0; j < n; ++j) total += std::exp(z[j] - top);
    // −log softmax(z)_label = log Σ exp(z − top) − (z_label − top)
    sum += static_cast<double>(std::log(total) - (z[label] - top));
    if (d_output != nullptr) {
      float* dz = d_output->data() + r * n;
      const float inv_total = inv_batch / total;
      for (std::int64_t j = 0; j < n; ++j) dz[j] = std::exp(z[j] - top) * inv_total;
      dz[label] -= inv_batch;
    }
  }
  return static_cast<float>(sum / static_cast<double>(std::max<std::int64_t>(1, batch)));
}

void argmax_rows(const Tensor& output, std::span<std::int32_t> classes) {
  if (output.rank() != 2 || static_cast<std::int64_t>(classes.size()) != output.rows()) {
    throw std::invalid_argument("argmax_rows: output must have shape [B, n] with B = " +
                                std::to_string(classes.size()) + ", got " + output.shape().to_string());
  }
  const std::int64_t n = output.row_size();
  for (std::int64_t r = 0; r < output.rows(); ++r) {
    const float* row = output.data() + r * n;
    classes[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(std::max_element(row, row + n) - row);
  }
}

}  // namespace tessera
