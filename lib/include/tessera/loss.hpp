// Losses: the value averaged over the batch and ∂loss/∂output, in one pass over the outputs.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "tessera/tensor.hpp"

namespace tessera {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // output: [B, n]; labels: B class indices in [0, n). Returns the loss averaged over the batch and,
  // when d_output is not null, writes ∂loss/∂output ([B, n]) into it. Throws std::invalid_argument
  // for mismatched sizes or a label out of range.
  virtual float compute(const Tensor& output, std::span<const std::int32_t> labels, Tensor* d_output) const = 0;
};

// Mean squared error, averaged over outputs and examples (the original program's error):
// L = 1/(B·n) Σ (y − t)², ∂L/∂y = 2(y − t)/(B·n). With labels, t is their one-hot encoding.
class MSE final : public Loss {
 public:
  std::string name() const override { return "MSE"; }
  float compute(const Tensor& output, std::span<const std::int32_t> labels, Tensor* d_output) const override;
  // With dense targets of the output's shape.
  float compute(const Tensor& output, const Tensor& target, Tensor* d_output) const;
};

// Softmax followed by cross-entropy on the logits, fused for stability (log-sum-exp with the row's
// maximum subtracted): L = 1/B Σ_b (log Σ_j exp(z_bj) − z_b,label), ∂L/∂z = (softmax(z) − onehot)/B.
class SoftmaxCrossEntropy final : public Loss {
 public:
  std::string name() const override { return "SoftmaxCrossEntropy"; }
  float compute(const Tensor& output, std::span<const std::int32_t> labels, Tensor* d_output) const override;
};

// The index of each row's largest output (the first on ties): predicted classes, [B].
void argmax_rows(const Tensor& output, std::span<std::int32_t> classes);

}  // namespace tessera
