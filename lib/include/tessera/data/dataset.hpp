// A data set in memory: examples of any shape as float32, or as bytes with a scale (images, kept
// compact and converted per batch), with class or value targets; handed out as float batches,
// shuffled each epoch from a seed. Built from the user's own arrays or by the readers (idx.hpp,
// mnist.hpp, csv.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tessera/data/idx.hpp"
#include "tessera/targets.hpp"
#include "tessera/tensor.hpp"

namespace tessera::data {

// The targets of a whole data set: one class index per example, or one float vector of `width`.
class Targets {
 public:
  Targets() = default;
  // Class indices, each in [0, count); count 0 takes one more than the largest label. `names`, when
  // given, name the classes (count of them). Throws std::invalid_argument for a label out of range,
  // count < 0, or names that are not count.
  static Targets classes(std::vector<std::int32_t> labels, std::int32_t count = 0, std::vector<std::string> names = {});
  // values: size × width floats, row-major, all finite. Throws std::invalid_argument otherwise.
  static Targets values(std::vector<float> values, std::int64_t width = 1);

  TargetKind kind() const noexcept { return kind_; }
  std::int64_t size() const noexcept;
  // Floats per example (values); 1 for classes.
  std::int64_t width() const noexcept { return width_; }
  // The class count (0 for values).
  std::int32_t classes() const noexcept { return classes_; }
  const std::vector<std::string>& class_names() const noexcept { return names_; }
  std::span<const std::int32_t> labels() const noexcept { return labels_; }
  std::span<const float> values() const noexcept { return values_; }

  // Raises the class count (both sets of a split get the larger). Throws std::invalid_argument for
  // values, for a count below a label, or for named classes.
  void set_classes(std::int32_t count);
  // The targets of examples `indices`, in that order.
  Targets subset(std::span<const std::int64_t> indices) const;

 private:
  TargetKind kind_ = TargetKind::Classes;
  std::int64_t width_ = 1;
  std::int32_t classes_ = 0;
  std::vector<std::int32_t> labels_;
  std::vector<float> values_;
  std::vector<std::string> names_;
};

class Dataset {
 public:
  Dataset() = default;
  // Float examples: targets.size() × example_shape.elements() values, row-major, all finite.
  // example_shape has rank 1 to 3 (a batch adds one extent). Throws std::invalid_argument when the
  // sizes disagree or a value is not finite.
  Dataset(std::vector<float> examples, Shape example_shape, Targets targets);
  // Byte examples (images), each read as byte × scale.
  Dataset(std::vector<std::uint8_t> examples, float scale, Shape example_shape, Targets targets);
  // Byte images scaled to [0, 1] with byte labels below `classes` (the MNIST form).
  Dataset(std::vector<std::uint8_t> images, std::vector<std::uint8_t> labels, Shape example_shape,
          std::int32_t classes);

  std::int64_t size() const noexcept { return targets_.size(); }
  // The shape of one example: [features] for a table, [rows, cols] for IDX images.
  const Shape& example_shape() const noexcept { return example_shape_; }
  std::int64_t example_size() const noexcept { return example_shape_.elements(); }
  // Whether examples are held as bytes (times byte_scale()) rather than floats.
  bool holds_bytes() const noexcept { return holds_bytes_; }
  float byte_scale() const noexcept { return scale_; }

  const Targets& targets() const noexcept { return targets_; }
  TargetKind target_kind() const noexcept { return targets_.kind(); }
  // Floats per example's target (1 for classes).
  std::int64_t target_width() const noexcept { return targets_.width(); }
  std::int32_t classes() const noexcept { return targets_.classes(); }
  void set_classes(std::int32_t classes) { targets_.set_classes(classes); }

  // Example i's bytes (byte data sets) or floats (float data sets). Throws std::out_of_range unless
  // 0 <= i < size(), std::logic_error for the other kind.
  std::span<const std::uint8_t> image(std::int64_t i) const;
  std::span<const float> features(std::int64_t i) const;
  // Example i's class (class targets) or values (value targets). Throws as above.
  std::int32_t label(std::int64_t i) const;
  std::span<const float> value(std::int64_t i) const;

  // The first n examples (all when n >= size()), as a new data set. Throws std::invalid_argument for
  // n < 0.
  Dataset head(std::int64_t n) const;
  // Examples `indices`, in that order, as a new data set. Throws std::invalid_argument for an index
  // that is not an example.
  Dataset subset(std::span<const std::int64_t> indices) const;
  // Part `part.index` of `part.count` contiguous parts (after the first part.limit examples when
  // limit > 0), sized as IdxPart says: what one process of a data-parallel run holds.
  Dataset part(const IdxPart& part) const;
  // A seeded split: round(fraction × size()) examples drawn at random (the same on every machine)
  // form `second`, the rest `first`, each in the original order. Throws std::invalid_argument unless
  // 0 < fraction < 1 and both parts have at least one example.
  struct Halves;
  Halves split(double fraction, std::uint64_t seed) const;

  // Writes examples order[first .. first + x.rows()) into x (x's rows may have any shape of
  // example_size() elements) and their targets into `targets` (of this data set's kind and width,
  // with room for x.rows()). Throws std::invalid_argument when x, targets or the range do not fit, or
  // an entry is not an example.
  void gather(std::span<const std::int64_t> order, std::int64_t first, Tensor& x, TargetBuffer& targets) const;
  // The same for class targets into `labels` (x.rows() of them).
  void gather(std::span<const std::int64_t> order, std::int64_t first, Tensor& x, std::span<std::int32_t> labels) const;
  // A buffer of this data set's target kind and width for batches of up to `capacity` examples.
  TargetBuffer target_buffer(std::int64_t capacity) const {
    return TargetBuffer(target_kind(), capacity, target_width());
  }

  // Asks the memory system for examples order[first .. first + count) ahead of a gather: a shuffled
  // epoch reads examples from all over the data set, and issuing the next batch's reads before the
  // current step's work hides most of their latency. A hint: entries out of range are skipped.
  void prefetch(std::span<const std::int64_t> order, std::int64_t first, std::int64_t count) const noexcept;

  // The order of an epoch: a permutation of [0, size()) drawn from (seed, epoch), the same on every
  // machine.
  std::vector<std::int64_t> shuffled_order(std::uint64_t seed, std::int64_t epoch) const;
  std::vector<std::int64_t> sequential_order() const;

 private:
  void check(const std::string& who) const;
  void require_example(std::int64_t i) const;
  void gather_examples(std::span<const std::int64_t> order, std::int64_t first, Tensor& x,
                       std::int64_t targets_room) const;

  std::vector<std::uint8_t> bytes_;
  std::vector<float> floats_;
  bool holds_bytes_ = false;
  float scale_ = 1.0f;
  Shape example_shape_;
  Targets targets_;
};

struct Dataset::Halves {
  Dataset first, second;
};

// A train/test pair.
struct Split {
  Dataset train, test;
};

}  // namespace tessera::data
