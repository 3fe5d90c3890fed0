// Labelled images in memory as unsigned bytes (one copy), handed out as float batches, shuffled each
// epoch from a seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "tessera/data/idx.hpp"
#include "tessera/tensor.hpp"

namespace tessera::data {

class Dataset {
 public:
  Dataset() = default;
  // images: size × example_shape.elements() bytes; labels: size bytes, each < classes. Throws
  // std::invalid_argument when the sizes disagree or a label is out of range.
  Dataset(std::vector<std::uint8_t> images, std::vector<std::uint8_t> labels, Shape example_shape,
          std::int32_t classes);

  // An images file (idx3: count × rows × cols) and its labels file (idx1: count). The class count is
  // one more than the largest label. Throws DataError naming the file that is wrong. With `part`, only
  // that part of the examples is read (read_idx).
  static Dataset from_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                          const IdxPart& part = {});

  std::int64_t size() const noexcept { return static_cast<std::int64_t>(labels_.size()); }
  // The shape of one image: [rows, cols] from the file (a Dense network reads it flattened).
  const Shape& example_shape() const noexcept { return example_shape_; }
  std::int64_t example_size() const noexcept { return example_shape_.elements(); }
  std::int32_t classes() const noexcept { return classes_; }
  void set_classes(std::int32_t classes);

  std::span<const std::uint8_t> image(std::int64_t i) const;
  // Example i's label. Throws std::out_of_range unless 0 <= i < size().
  std::int32_t label(std::int64_t i) const;

  // The first n examples (all when n >= size()), as a new data set. Throws std::invalid_argument for
  // n < 0.
  Dataset head(std::int64_t n) const;

  // Writes examples order[first .. first + x.rows()) into x (pixels scaled to [0, 1]; x's rows may have
  // any shape of example_size() elements) and their labels into `labels`. Throws
  // std::invalid_argument when x, labels or the range do not fit, or an entry is not an example.
  void gather(std::span<const std::int64_t> order, std::int64_t first, Tensor& x, std::span<std::int32_t> labels) const;

  // Asks the memory system for examples order[first .. first + count) ahead of a gather: a shuffled
  // epoch reads images from all over the data set, and issuing the next batch's reads before the
  // current step's work hides most of their latency. A hint: entries out of range are skipped.
  void prefetch(std::span<const std::int64_t> order, std::int64_t first, std::int64_t count) const noexcept;

  // The order of an epoch: a permutation of [0, size()) drawn from (seed, epoch), the same on every
  // machine.
  std::vector<std::int64_t> shuffled_order(std::uint64_t seed, std::int64_t epoch) const;
  std::vector<std::int64_t> sequential_order() const;

 private:
  void require_example(std::int64_t i) const;

  std::vector<std::uint8_t> images_, labels_;
  Shape example_shape_;
  std::int32_t classes_ = 0;
};

// A train/test pair.
struct Split {
  Dataset train, test;
};

// The four MNIST-style files in `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, in the usual spellings, raw or gzip). Both sets get
// the larger class count. Throws DataError naming the missing or bad file. With `train_part`, only
// that part of the training set is read (each process of a data-parallel run reads its own; the test
// set is read whole).
Split load_mnist(const std::filesystem::path& dir, const IdxPart& train_part = {});

}  // namespace tessera::data
