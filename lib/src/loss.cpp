// The losses: value and gradient in one pass, summed in a fixed order (row by row, in double) so the
// value does not depend on the thread count. The checks run every step: their names are literals and
// nothing allocates unless a check fails.
#include "tessera/loss.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tessera {

namespace {

// Checks output [B, n] against the targets and d_output; returns n.
std::int64_t check(const char* who, const Tensor& output, const TargetBatch& targets, const Tensor* d_output) {
  if (output.rank() != 2) {
    throw std::invalid_argument(std::string(who) + ": output must have shape [B, n], got " +
                                output.shape().to_string());
  }
  if (targets.size() != output.rows()) {
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(targets.size()) +
                                (targets.kind == TargetKind::Classes ? " labels" : " targets") + " for a batch of " +
                                std::to_string(output.rows()));
  }
  if (targets.kind == TargetKind::Values && targets.width != output.row_size()) {
    throw std::invalid_argument(std::string(who) + ": targets of " + std::to_string(targets.width) +
                                " values for outputs of " + std::to_string(output.row_size()));
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

// Σ over the batch of Σ_j f(y_j, t_j), writing scale · ∂f/∂y into d_output; `element(y, t, &d)`
// returns f and sets d. Class targets become one-hot rows (a single output: the label itself).
template <class Element>
double elementwise(const char* who, const Tensor& output, const TargetBatch& targets, Tensor* d_output, float scale,
                   Element element) {
  const std::int64_t n = check(who, output, targets, d_output);
  double sum = 0.0;
  for (std::int64_t r = 0; r < output.rows(); ++r) {
    const float* y = output.data() + r * n;
    float* dy = d_output != nullptr ? d_output->data() + r * n : nullptr;
    double row = 0.0;
    float d = 0.0f;
    if (targets.kind == TargetKind::Values) {
      const float* t = targets.values.data() + r * n;
      for (std::int64_t j = 0; j < n; ++j) {
        row += static_cast<double>(element(y[j], t[j], d));
        if (dy != nullptr) dy[j] = scale * d;
      }
    } else {
      const std::int32_t label = targets.classes[static_cast<std::size_t>(r)];
      check_label(who, label, r, n == 1 ? 2 : n);
      for (std::int64_t j = 0; j < n; ++j) {
        const float t = n == 1 ? static_cast<float>(label) : (j == label ? 1.0f : 0.0f);
        row += static_cast<double>(element(y[j], t, d));
        if (dy != nullptr) dy[j] = scale * d;
      }
    }
    sum += row;
  }
  return sum;
}

// The mean over B·n elements; the gradient is `factor` · d / (B·n), with factor / (B·n) rounded once.
template <class Element>
float elementwise_mean(const char* who, const Tensor& output, const TargetBatch& targets, Tensor* d_output,
                       float factor, Element element) {
  const std::int64_t count = std::max<std::int64_t>(1, output.size());
  const float scale = factor / static_cast<float>(count);
  return static_cast<float>(elementwise(who, output, targets, d_output, scale, element) / static_cast<double>(count));
}

}  // namespace

void Loss::check_targets(TargetKind kind, std::int64_t width, std::int32_t classes, std::int64_t outputs) const {
  if (!accepts(kind)) {
    throw std::invalid_argument("the loss " + name() + " does not take targets that are " + to_string(kind) +
                                (kind == TargetKind::Classes ? " (a classification task)" : " (a regression task)"));
  }
  if (kind == TargetKind::Values && width != outputs) {
    throw std::invalid_argument("the network has " + std::to_string(outputs) + " outputs but the targets are " +
                                std::to_string(width) + " values per example (loss " + name() + ")");
  }
  if (kind == TargetKind::Classes && outputs < classes) {
    throw std::invalid_argument("the network's " + std::to_string(outputs) + " outputs cannot score the data's " +
                                std::to_string(classes) + " classes (loss " + name() + ")");
  }
}

float Loss::compute(const Tensor& output, const Tensor& target, Tensor* d_output) const {
  if (!(target.shape() == output.shape())) {
    throw std::invalid_argument(name() + ": target must have the output's shape " + output.shape().to_string() +
                                ", got " + target.shape().to_string());
  }
  return compute(output, TargetBatch::of_values(target), d_output);
}

float MSE::compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const {
  return elementwise_mean("MSE", output, targets, d_output, 2.0f, [](float y, float t, float& d) {
    const float diff = y - t;
    d = diff;
    return static_cast<double>(diff) * static_cast<double>(diff);
  });
}

float L1::compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const {
  if (targets.kind != TargetKind::Values) throw std::invalid_argument("L1: takes value targets, not classes");
  return elementwise_mean("L1", output, targets, d_output, 1.0f, [](float y, float t, float& d) {
    const float diff = y - t;
    d = diff > 0.0f ? 1.0f : (diff < 0.0f ? -1.0f : 0.0f);
    return std::fabs(static_cast<double>(diff));
  });
}

Huber::Huber(float delta) : delta_(delta) {
  if (!std::isfinite(delta) || !(delta > 0.0f)) {
    throw std::invalid_argument("Huber: delta must be finite and > 0, got " + std::to_string(delta));
  }
}

std::string Huber::name() const {
  char text[48];
  std::snprintf(text, sizeof text, "Huber(delta=%g)", static_cast<double>(delta_));
  return text;
}

float Huber::compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const {
  if (targets.kind != TargetKind::Values) throw std::invalid_argument("Huber: takes value targets, not classes");
  const float delta = delta_;
  return elementwise_mean("Huber", output, targets, d_output, 1.0f, [delta](float y, float t, float& d) {
    const float diff = y - t;
    const double a = std::fabs(static_cast<double>(diff));
    if (a <= static_cast<double>(delta)) {
      d = diff;
      return 0.5 * a * a;
    }
    d = diff > 0.0f ? delta : -delta;
    return static_cast<double>(delta) * (a - 0.5 * static_cast<double>(delta));
  });
}

void BinaryCrossEntropyWithLogits::check_targets(TargetKind kind, std::int64_t width, std::int32_t classes,
                                                 std::int64_t outputs) const {
  // One output scores two classes (its sigmoid is class 1's probability).
  if (kind == TargetKind::Classes && outputs == 1 && classes > 2) {
    throw std::invalid_argument("the loss " + name() + " with one output scores 2 classes, not " +
                                std::to_string(classes));
  }
  if (kind == TargetKind::Classes && outputs == 1) return;
  Loss::check_targets(kind, width, classes, outputs);
}

float BinaryCrossEntropyWithLogits::compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const {
  return elementwise_mean("BinaryCrossEntropyWithLogits", output, targets, d_output, 1.0f,
                          [](float z, float t, float& d) {
                            // max(z, 0) − z·t + log(1 + exp(−|z|)): no overflow for any z.
                            const float e = std::exp(-std::fabs(z));
                            const float sigmoid = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
                            d = sigmoid - t;
                            return static_cast<double>(std::max(z, 0.0f) - z * t) + std::log1p(static_cast<double>(e));
                          });
}

SoftmaxCrossEntropy::SoftmaxCrossEntropy(std::vector<float> class_weights) : weights_(std::move(class_weights)) {
  bool positive = false;
  for (float w : weights_) {
    if (!std::isfinite(w) || w < 0.0f) {
      throw std::invalid_argument("SoftmaxCrossEntropy: class weights must be finite and >= 0, got " +
                                  std::to_string(w));
    }
    positive = positive || w > 0.0f;
  }
  if (!weights_.empty() && !positive) throw std::invalid_argument("SoftmaxCrossEntropy: every class weight is 0");
}

std::string SoftmaxCrossEntropy::name() const {
  if (weights_.empty()) return "SoftmaxCrossEntropy";
  std::string s = "SoftmaxCrossEntropy(weights";
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    char w[32];
    std::snprintf(w, sizeof w, "%s%g", i == 0 ? " " : ", ", static_cast<double>(weights_[i]));
    s += w;
  }
  return s + ")";
}

void SoftmaxCrossEntropy::check_targets(TargetKind kind, std::int64_t width, std::int32_t classes,
                                        std::int64_t outputs) const {
  Loss::check_targets(kind, width, classes, outputs);
  if (!weights_.empty() && static_cast<std::int64_t>(weights_.size()) != outputs) {
    throw std::invalid_argument("the loss " + name() + " has " + std::to_string(weights_.size()) +
                                " class weights for a network of " + std::to_string(outputs) + " outputs");
  }
}

float SoftmaxCrossEntropy::compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const {
  constexpr const char* kWho = "SoftmaxCrossEntropy";
  const std::int64_t n = check(kWho, output, targets, d_output);
  if (targets.kind != TargetKind::Classes)
    throw std::invalid_argument("SoftmaxCrossEntropy: takes classes, not values");
  if (!weights_.empty() && static_cast<std::int64_t>(weights_.size()) != n) {
    throw std::invalid_argument("SoftmaxCrossEntropy: " + std::to_string(weights_.size()) +
                                " class weights for outputs of " + std::to_string(n));
  }
  const std::int64_t batch = output.rows();
  const auto weight = [&](std::int32_t label) {
    return weights_.empty() ? 1.0f : weights_[static_cast<std::size_t>(label)];
  };
  // The normaliser: B, or with weights the sum of the batch's label weights (PyTorch's).
  double total_weight = 0.0;
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int32_t label = targets.classes[static_cast<std::size_t>(r)];
    check_label(kWho, label, r, n);
    total_weight += static_cast<double>(weight(label));
  }
  if (batch == 0 || total_weight <= 0.0) {
    if (d_output != nullptr) d_output->fill(0.0f);
    return 0.0f;
  }
  // Unweighted, 1/B rounded once in float, as before weights existed (the same bits).
  const float inv_total_weight =
      weights_.empty() ? 1.0f / static_cast<float>(batch) : static_cast<float>(1.0 / total_weight);
  double sum = 0.0;
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int32_t label = targets.classes[static_cast<std::size_t>(r)];
    const float w = weight(label);
    const float* z = output.data() + r * n;
    const float top = *std::max_element(z, z + n);
    float total = 0.0f;
    for (std::int64_t j = 0; j < n; ++j) total += std::exp(z[j] - top);
    // −log softmax(z)_label = log Σ exp(z − top) − (z_label − top)
    sum += static_cast<double>(w) * static_cast<double>(std::log(total) - (z[label] - top));
    if (d_output != nullptr) {
      float* dz = d_output->data() + r * n;
      const float scale = w * inv_total_weight;
      const float inv_total = scale / total;
      for (std::int64_t j = 0; j < n; ++j) dz[j] = std::exp(z[j] - top) * inv_total;
      dz[label] -= scale;
    }
  }
  return static_cast<float>(sum / total_weight);
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
