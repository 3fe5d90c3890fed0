// What a network is trained to output: class indices or float vectors ("targets"), as a batch that a
// loss reads and as the buffer a data set gathers a batch into.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "tessera/tensor.hpp"

namespace tessera {

// Classes: one index in [0, classes) per example (classification). Values: a float vector of a fixed
// width per example (regression, multi-output regression, multi-label 0/1 targets).
enum class TargetKind { Classes, Values };

// "classes" or "values".
std::string to_string(TargetKind kind);
std::ostream& operator<<(std::ostream& out, TargetKind kind);

// A batch of targets, not owned: `classes` (B indices) for TargetKind::Classes, or `values`
// (B × width floats, row-major) for TargetKind::Values.
struct TargetBatch {
  TargetKind kind = TargetKind::Classes;
  std::span<const std::int32_t> classes;
  std::span<const float> values;
  std::int64_t width = 1;  // floats per example (values), 1 for classes

  std::int64_t size() const noexcept {
    return kind == TargetKind::Classes ? static_cast<std::int64_t>(classes.size())
                                       : static_cast<std::int64_t>(values.size()) / (width > 0 ? width : 1);
  }
  static TargetBatch of_classes(std::span<const std::int32_t> labels) noexcept {
    return {TargetKind::Classes, labels, {}, 1};
  }
  // values: [B, width] (any rank: rows() examples of row_size() floats).
  static TargetBatch of_values(const Tensor& values) noexcept {
    return {TargetKind::Values, {}, {values.data(), static_cast<std::size_t>(values.size())}, values.row_size()};
  }
  // The first n examples.
  TargetBatch head(std::int64_t n) const noexcept {
    TargetBatch b = *this;
    if (kind == TargetKind::Classes)
      b.classes = classes.first(static_cast<std::size_t>(n));
    else
      b.values = values.first(static_cast<std::size_t>(n * width));
    return b;
  }
};

// Storage for one batch of targets, sized once for the largest batch (a training step allocates
// nothing): what data::Dataset::gather writes and a loss then reads through batch().
class TargetBuffer {
 public:
  TargetBuffer() = default;
  TargetBuffer(TargetKind kind, std::int64_t capacity, std::int64_t width = 1);

  TargetKind kind() const noexcept { return kind_; }
  std::int64_t capacity() const noexcept { return capacity_; }
  std::int64_t width() const noexcept { return width_; }
  // Rows [0, n) for writing: n class indices, or n × width values.
  std::span<std::int32_t> classes(std::int64_t n);
  std::span<float> values(std::int64_t n);
  // The first n rows as a batch.
  TargetBatch batch(std::int64_t n) const;

 private:
  TargetKind kind_ = TargetKind::Classes;
  std::int64_t capacity_ = 0, width_ = 1;
  std::vector<std::int32_t> classes_;
  std::vector<float> values_;
};

}  // namespace tessera
