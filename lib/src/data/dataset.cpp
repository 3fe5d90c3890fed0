// Dataset and Targets: checking, subsets and parts, the per-batch gather (bytes converted to floats
// on the way) and the epoch shuffle.
#include "tessera/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <ostream>
#include <stdexcept>
#include <string>

#include "simd/array_kernels.hpp"
#include "tessera/random.hpp"

namespace tessera {

std::string to_string(TargetKind kind) { return kind == TargetKind::Classes ? "classes" : "values"; }
std::ostream& operator<<(std::ostream& out, TargetKind kind) { return out << to_string(kind); }

TargetBuffer::TargetBuffer(TargetKind kind, std::int64_t capacity, std::int64_t width)
    : kind_(kind), capacity_(capacity), width_(width) {
  if (capacity < 0 || width < 1 || (kind == TargetKind::Classes && width != 1)) {
    throw std::invalid_argument("TargetBuffer: room for " + std::to_string(capacity) + " targets of width " +
                                std::to_string(width) + " (" + to_string(kind) + ") is not a buffer");
  }
  if (kind == TargetKind::Classes)
    classes_.resize(static_cast<std::size_t>(capacity));
  else
    values_.resize(static_cast<std::size_t>(capacity * width));
}

std::span<std::int32_t> TargetBuffer::classes(std::int64_t n) {
  return std::span<std::int32_t>(classes_).first(static_cast<std::size_t>(std::min(n, capacity_)));
}

std::span<float> TargetBuffer::values(std::int64_t n) {
  return std::span<float>(values_).first(static_cast<std::size_t>(std::min(n, capacity_) * width_));
}

TargetBatch TargetBuffer::batch(std::int64_t n) const {
  n = std::clamp<std::int64_t>(n, 0, capacity_);
  if (kind_ == TargetKind::Classes)
    return TargetBatch::of_classes(std::span(classes_).first(static_cast<std::size_t>(n)));
  return {TargetKind::Values, {}, std::span(values_).first(static_cast<std::size_t>(n * width_)), width_};
}

}  // namespace tessera

namespace tessera::data {

// ---- Targets ----

Targets Targets::classes(std::vector<std::int32_t> labels, std::int32_t count, std::vector<std::string> names) {
  if (count < 0)
    throw std::invalid_argument("Targets::classes: a class count must be >= 0, got " + std::to_string(count));
  Targets t;
  t.kind_ = TargetKind::Classes;
  t.labels_ = std::move(labels);
  std::int32_t top = -1;
  for (std::size_t i = 0; i < t.labels_.size(); ++i) {
    if (t.labels_[i] < 0) {
      throw std::invalid_argument("Targets::classes: label " + std::to_string(t.labels_[i]) + " of example " +
                                  std::to_string(i) + " is negative");
    }
    top = std::max(top, t.labels_[i]);
  }
  if (count == 0) count = std::max(1, top + 1);
  t.set_classes(count);
  if (!names.empty() && static_cast<std::int64_t>(names.size()) != count) {
    throw std::invalid_argument("Targets::classes: " + std::to_string(names.size()) + " class names for " +
                                std::to_string(count) + " classes");
  }
  t.names_ = std::move(names);
  return t;
}

Targets Targets::values(std::vector<float> values, std::int64_t width) {
  if (width < 1) throw std::invalid_argument("Targets::values: the width must be >= 1, got " + std::to_string(width));
  if (static_cast<std::int64_t>(values.size()) % width != 0) {
    throw std::invalid_argument("Targets::values: " + std::to_string(values.size()) +
                                " values are not whole rows of width " + std::to_string(width));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw std::invalid_argument("Targets::values: value " + std::to_string(i % static_cast<std::size_t>(width)) +
                                  " of example " + std::to_string(i / static_cast<std::size_t>(width)) +
                                  " is not finite");
    }
  }
  Targets t;
  t.kind_ = TargetKind::Values;
  t.width_ = width;
  t.values_ = std::move(values);
  return t;
}

std::int64_t Targets::size() const noexcept {
  return kind_ == TargetKind::Classes ? static_cast<std::int64_t>(labels_.size())
                                      : static_cast<std::int64_t>(values_.size()) / width_;
}

void Targets::set_classes(std::int32_t count) {
  if (kind_ != TargetKind::Classes) throw std::invalid_argument("Targets::set_classes: these targets are values");
  if (count < 1) throw std::invalid_argument("Targets: the class count must be >= 1, got " + std::to_string(count));
  if (!names_.empty() && count != classes_) {
    throw std::invalid_argument("Targets::set_classes: the " + std::to_string(classes_) +
                                " classes are named; their count cannot change to " + std::to_string(count));
  }
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i] >= count) {
      throw std::invalid_argument("Dataset: label " + std::to_string(labels_[i]) + " of example " + std::to_string(i) +
                                  " is not below the class count " + std::to_string(count));
    }
  }
  classes_ = count;
}

Targets Targets::subset(std::span<const std::int64_t> indices) const {
  Targets t;
  t.kind_ = kind_;
  t.width_ = width_;
  t.classes_ = classes_;
  t.names_ = names_;
  if (kind_ == TargetKind::Classes) {
    t.labels_.reserve(indices.size());
    for (std::int64_t i : indices) t.labels_.push_back(labels_[static_cast<std::size_t>(i)]);
  } else {
    t.values_.reserve(indices.size() * static_cast<std::size_t>(width_));
    for (std::int64_t i : indices) {
      const auto* row = values_.data() + i * width_;
      t.values_.insert(t.values_.end(), row, row + width_);
    }
  }
  return t;
}

// ---- Dataset ----

Dataset::Dataset(std::vector<float> examples, Shape example_shape, Targets targets)
    : floats_(std::move(examples)), example_shape_(example_shape), targets_(std::move(targets)) {
  check("Dataset");
  for (std::size_t i = 0; i < floats_.size(); ++i) {
    if (!std::isfinite(floats_[i])) {
      const auto n = static_cast<std::size_t>(example_size());
      throw std::invalid_argument("Dataset: value " + std::to_string(i % n) + " of example " + std::to_string(i / n) +
                                  " is not finite");
    }
  }
}

Dataset::Dataset(std::vector<std::uint8_t> examples, float scale, Shape example_shape, Targets targets)
    : bytes_(std::move(examples)),
      holds_bytes_(true),
      scale_(scale),
      example_shape_(example_shape),
      targets_(std::move(targets)) {
  if (!std::isfinite(scale)) throw std::invalid_argument("Dataset: the byte scale must be finite");
  check("Dataset");
}

Dataset::Dataset(std::vector<std::uint8_t> images, std::vector<std::uint8_t> labels, Shape example_shape,
                 std::int32_t classes)
    : Dataset(std::move(images), 1.0f / 255.0f, example_shape,
              Targets::classes(std::vector<std::int32_t>(labels.begin(), labels.end()), classes)) {}

void Dataset::check(const std::string& who) const {
  const std::int64_t n = size();
  const auto held = static_cast<std::int64_t>(holds_bytes_ ? bytes_.size() : floats_.size());
  if (example_shape_.rank() < 1 || example_shape_.rank() >= Shape::kMaxRank || example_shape_.elements() < 1) {
    throw std::invalid_argument(who + ": an example shape has 1 to " + std::to_string(Shape::kMaxRank - 1) +
                                " extents and at least one element, got " + example_shape_.to_string());
  }
  if (held != n * example_shape_.elements()) {
    throw std::invalid_argument(who + ": " + std::to_string(held) + (holds_bytes_ ? " image bytes" : " values") +
                                " are not " + std::to_string(n) + (holds_bytes_ ? " images" : " examples") +
                                " of shape " + example_shape_.to_string());
  }
}

std::span<const std::uint8_t> Dataset::image(std::int64_t i) const {
  require_example(i);
  if (!holds_bytes_) throw std::logic_error("Dataset::image: this data set holds floats; use features()");
  const auto n = static_cast<std::size_t>(example_size());
  return {bytes_.data() + static_cast<std::size_t>(i) * n, n};
}

std::span<const float> Dataset::features(std::int64_t i) const {
  require_example(i);
  if (holds_bytes_) throw std::logic_error("Dataset::features: this data set holds bytes; use image()");
  const auto n = static_cast<std::size_t>(example_size());
  return {floats_.data() + static_cast<std::size_t>(i) * n, n};
}

std::int32_t Dataset::label(std::int64_t i) const {
  require_example(i);
  if (target_kind() != TargetKind::Classes) throw std::logic_error("Dataset::label: the targets are values");
  return targets_.labels()[static_cast<std::size_t>(i)];
}

std::span<const float> Dataset::value(std::int64_t i) const {
  require_example(i);
  if (target_kind() != TargetKind::Values) throw std::logic_error("Dataset::value: the targets are classes");
  return targets_.values().subspan(static_cast<std::size_t>(i * target_width()),
                                   static_cast<std::size_t>(target_width()));
}

void Dataset::require_example(std::int64_t i) const {
  if (i < 0 || i >= size()) {
    throw std::out_of_range("Dataset: example " + std::to_string(i) + " of " + std::to_string(size()));
  }
}

Dataset Dataset::subset(std::span<const std::int64_t> indices) const {
  for (std::int64_t i : indices) {
    if (i < 0 || i >= size()) {
      throw std::invalid_argument("Dataset::subset: " + std::to_string(i) + " is not an example of the " +
                                  std::to_string(size()));
    }
  }
  const auto n = static_cast<std::size_t>(example_size());
  const auto pick = [&](const auto& all) {
    std::remove_cvref_t<decltype(all)> out;
    out.reserve(indices.size() * n);
    for (std::int64_t i : indices) {
      const auto* row = all.data() + static_cast<std::size_t>(i) * n;
      out.insert(out.end(), row, row + n);
    }
    return out;
  };
  if (holds_bytes_) return Dataset(pick(bytes_), scale_, example_shape_, targets_.subset(indices));
  Dataset d;
  d.floats_ = pick(floats_);  // already checked: no second pass over the values
  d.example_shape_ = example_shape_;
  d.targets_ = targets_.subset(indices);
  return d;
}

Dataset Dataset::head(std::int64_t n) const {
  if (n < 0) throw std::invalid_argument("Dataset::head: n must be >= 0, got " + std::to_string(n));
  std::vector<std::int64_t> first(static_cast<std::size_t>(std::min(n, size())));
  std::iota(first.begin(), first.end(), 0);
  return subset(first);
}

Dataset Dataset::part(const IdxPart& part) const {
  const IdxPart::Range r = part.of(size());
  std::vector<std::int64_t> mine(static_cast<std::size_t>(r.count));
  std::iota(mine.begin(), mine.end(), r.first);
  return subset(mine);
}

Dataset::Halves Dataset::split(double fraction, std::uint64_t seed) const {
  const auto second = static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(size())));
  if (!(fraction > 0.0 && fraction < 1.0) || second < 1 || second >= size()) {
    throw std::invalid_argument("Dataset::split: a fraction " + std::to_string(fraction) + " of " +
                                std::to_string(size()) + " examples leaves a part empty (it must be in (0, 1))");
  }
  // The first `second` positions of a seeded shuffle go to the second part; both keep file order.
  std::vector<std::int64_t> order = shuffled_order(seed ^ 0x53504C4954ULL, 0);
  std::vector<char> in_second(static_cast<std::size_t>(size()), 0);
  for (std::int64_t i = 0; i < second; ++i) in_second[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
  std::vector<std::int64_t> a, b;
  for (std::int64_t i = 0; i < size(); ++i) (in_second[static_cast<std::size_t>(i)] ? b : a).push_back(i);
  return {subset(a), subset(b)};
}

void Dataset::gather_examples(std::span<const std::int64_t> order, std::int64_t first, Tensor& x,
                              std::int64_t targets_room) const {
  const std::int64_t batch = x.rows();
  if (x.row_size() != example_size() || targets_room < batch || first < 0 ||
      first + batch > static_cast<std::int64_t>(order.size())) {
    throw std::invalid_argument("Dataset::gather: a batch " + x.shape().to_string() + " with room for " +
                                std::to_string(targets_room) + " targets from position " + std::to_string(first) +
                                " of " + std::to_string(order.size()) + " does not fit examples of " +
                                std::to_string(example_size()) + (holds_bytes_ ? " pixels" : " values"));
  }
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int64_t index = order[static_cast<std::size_t>(first + r)];
    if (index < 0 || index >= size()) {
      throw std::invalid_argument("Dataset::gather: order[" + std::to_string(first + r) + "] = " +
                                  std::to_string(index) + " is not an example of the " + std::to_string(size()));
    }
  }
  const std::int64_t n = example_size();
  if (holds_bytes_) {
    const auto convert = detail::active_array_kernels().bytes_to_floats;
    for (std::int64_t r = 0; r < batch; ++r) {
      convert(bytes_.data() + order[static_cast<std::size_t>(first + r)] * n, n, scale_, x.data() + r * n);
    }
  } else {
    for (std::int64_t r = 0; r < batch; ++r) {
      std::memcpy(x.data() + r * n, floats_.data() + order[static_cast<std::size_t>(first + r)] * n,
                  static_cast<std::size_t>(n) * sizeof(float));
    }
  }
}

void Dataset::gather(std::span<const std::int64_t> order, std::int64_t first, Tensor& x, TargetBuffer& targets) const {
  if (targets.kind() != target_kind() || targets.width() != target_width()) {
    throw std::invalid_argument("Dataset::gather: a target buffer of " + to_string(targets.kind()) + " (width " +
                                std::to_string(targets.width()) + ") for targets of " + to_string(target_kind()) +
                                " (width " + std::to_string(target_width()) + ")");
  }
  gather_examples(order, first, x, targets.capacity());
  const std::int64_t batch = x.rows();
  if (target_kind() == TargetKind::Classes) {
    const std::span<std::int32_t> out = targets.classes(batch);
    for (std::int64_t r = 0; r < batch; ++r) {
      out[static_cast<std::size_t>(r)] =
          targets_.labels()[static_cast<std::size_t>(order[static_cast<std::size_t>(first + r)])];
    }
  } else {
    const std::int64_t w = target_width();
    float* out = targets.values(batch).data();
    for (std::int64_t r = 0; r < batch; ++r) {
      std::memcpy(out + r * w, targets_.values().data() + order[static_cast<std::size_t>(first + r)] * w,
                  static_cast<std::size_t>(w) * sizeof(float));
    }
  }
}

void Dataset::gather(std::span<const std::int64_t> order, std::int64_t first, Tensor& x,
                     std::span<std::int32_t> labels) const {
  if (target_kind() != TargetKind::Classes) {
    throw std::invalid_argument("Dataset::gather: labels asked of a data set whose targets are values");
  }
  if (static_cast<std::int64_t>(labels.size()) != x.rows()) {
    throw std::invalid_argument("Dataset::gather: a batch " + x.shape().to_string() + " with " +
                                std::to_string(labels.size()) + " labels");
  }
  gather_examples(order, first, x, static_cast<std::int64_t>(labels.size()));
  for (std::int64_t r = 0; r < x.rows(); ++r) {
    labels[static_cast<std::size_t>(r)] =
        targets_.labels()[static_cast<std::size_t>(order[static_cast<std::size_t>(first + r)])];
  }
}

void Dataset::prefetch(std::span<const std::int64_t> order, std::int64_t first, std::int64_t count) const noexcept {
  const std::int64_t n = example_size();
  const std::int64_t bytes_per_example = holds_bytes_ ? n : n * static_cast<std::int64_t>(sizeof(float));
  const auto* base = holds_bytes_ ? bytes_.data() : reinterpret_cast<const std::uint8_t*>(floats_.data());
  const std::int64_t end = std::min<std::int64_t>(first + count, static_cast<std::int64_t>(order.size()));
  for (std::int64_t r = std::max<std::int64_t>(first, 0); r < end; ++r) {
    const std::int64_t index = order[static_cast<std::size_t>(r)];
    if (index < 0 || index >= size()) continue;
    const std::uint8_t* example = base + index * bytes_per_example;
    for (std::int64_t b = 0; b < bytes_per_example; b += 64) __builtin_prefetch(example + b);
    __builtin_prefetch(example + bytes_per_example - 1);
  }
}

std::vector<std::int64_t> Dataset::shuffled_order(std::uint64_t seed, std::int64_t epoch) const {
  std::vector<std::int64_t> order = sequential_order();
  // Fisher-Yates from the end, with our own Rng: std::shuffle's use of the engine is unspecified.
  Rng rng(seed, 0x5348554646ULL + static_cast<std::uint64_t>(epoch));
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[static_cast<std::size_t>(rng.below(i))]);
  }
  return order;
}

std::vector<std::int64_t> Dataset::sequential_order() const {
  std::vector<std::int64_t> order(static_cast<std::size_t>(size()));
  std::iota(order.begin(), order.end(), 0);
  return order;
}

}  // namespace tessera::data
