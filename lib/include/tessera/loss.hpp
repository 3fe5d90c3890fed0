// Losses: the value averaged over the batch and ∂loss/∂output, in one pass over the outputs, behind
// one interface that takes a batch of targets of either kind (class indices or float vectors). Each
// loss says which kinds it accepts; Trainer checks that before training.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tessera/targets.hpp"
#include "tessera/tensor.hpp"

namespace tessera {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // Whether the loss takes targets of this kind.
  virtual bool accepts(TargetKind kind) const = 0;
  // Throws std::invalid_argument, naming the loss, unless it can score `outputs` values per example
  // against targets of `kind` (`width` floats each for values; `classes` classes for classes).
  virtual void check_targets(TargetKind kind, std::int64_t width, std::int32_t classes, std::int64_t outputs) const;

  // output: [B, n]; targets: B examples (class indices in [0, n), or B × n values). Returns the loss
  // averaged over the batch and, when d_output is not null, writes ∂loss/∂output ([B, n]) into it.
  // Throws std::invalid_argument for mismatched sizes, a target kind the loss does not accept, or a
  // label out of range.
  virtual float compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const = 0;
  // With class labels (B of them).
  float compute(const Tensor& output, std::span<const std::int32_t> labels, Tensor* d_output) const {
    return compute(output, TargetBatch::of_classes(labels), d_output);
  }
  // With dense targets of the output's shape.
  float compute(const Tensor& output, const Tensor& target, Tensor* d_output) const;
};

// The elementwise losses below average over outputs and examples (PyTorch's reduction "mean"). With
// class targets, the target of output j is 1 for the label's output and 0 elsewhere (one-hot); with a
// single output, the label itself (0 or 1).

// Mean squared error (the original program's error): L = 1/(B·n) Σ (y − t)², ∂L/∂y = 2(y − t)/(B·n).
// Takes classes and values.
class MSE final : public Loss {
 public:
  using Loss::compute;
  std::string name() const override { return "MSE"; }
  bool accepts(TargetKind) const override { return true; }
  float compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const override;
};

// Mean absolute error: L = 1/(B·n) Σ |y − t|, ∂L/∂y = sign(y − t)/(B·n) (0 where y = t). Values only.
class L1 final : public Loss {
 public:
  using Loss::compute;
  std::string name() const override { return "L1"; }
  bool accepts(TargetKind kind) const override { return kind == TargetKind::Values; }
  float compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const override;
};

// Huber (smooth L1) with threshold delta > 0: per element ½d² where |d| ≤ delta, delta·(|d| − ½delta)
// beyond (d = y − t), averaged. Values only.
class Huber final : public Loss {
 public:
  using Loss::compute;
  // Throws std::invalid_argument unless delta is finite and > 0.
  explicit Huber(float delta = 1.0f);
  std::string name() const override;
  bool accepts(TargetKind kind) const override { return kind == TargetKind::Values; }
  float compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const override;
  float delta() const noexcept { return delta_; }

 private:
  float delta_;
};

// Sigmoid followed by binary cross-entropy on the logits, fused for stability:
// per element max(z, 0) − z·t + log(1 + exp(−|z|)), ∂/∂z = sigmoid(z) − t, averaged. Targets in [0, 1]:
// values (multi-label), or classes (one output: binary labels 0/1; n outputs: one-hot).
class BinaryCrossEntropyWithLogits final : public Loss {
 public:
  using Loss::compute;
  std::string name() const override { return "BinaryCrossEntropyWithLogits"; }
  bool accepts(TargetKind) const override { return true; }
  void check_targets(TargetKind kind, std::int64_t width, std::int32_t classes, std::int64_t outputs) const override;
  float compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const override;
};

// Softmax followed by cross-entropy on the logits, fused for stability (log-sum-exp with the row's
// maximum subtracted): L = 1/B Σ_b (log Σ_j exp(z_bj) − z_b,label), ∂L/∂z = (softmax(z) − onehot)/B.
// With class weights w (one per output), PyTorch's weighted mean: L = Σ_b w_label·l_b / Σ_b w_label.
// Classes only.
class SoftmaxCrossEntropy final : public Loss {
 public:
  using Loss::compute;
  SoftmaxCrossEntropy() = default;
  // Throws std::invalid_argument unless every weight is finite and >= 0 and one is > 0.
  explicit SoftmaxCrossEntropy(std::vector<float> class_weights);
  std::string name() const override;
  bool accepts(TargetKind kind) const override { return kind == TargetKind::Classes; }
  void check_targets(TargetKind kind, std::int64_t width, std::int32_t classes, std::int64_t outputs) const override;
  float compute(const Tensor& output, const TargetBatch& targets, Tensor* d_output) const override;
  const std::vector<float>& class_weights() const noexcept { return weights_; }

 private:
  std::vector<float> weights_;  // empty: all 1
};

// The index of each row's largest output (the first on ties): predicted classes, [B].
void argmax_rows(const Tensor& output, std::span<std::int32_t> classes);

}  // namespace tessera
