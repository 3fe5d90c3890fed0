// Dataset: loading and checking, the byte-to-float batch conversion and the epoch shuffle.
#include "tessera/data/dataset.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "gemm/kernel_set.hpp"
#include "tessera/data/idx.hpp"
#include "tessera/random.hpp"

namespace tessera::data {

Dataset::Dataset(std::vector<std::uint8_t> images, std::vector<std::uint8_t> labels, Shape example_shape,
                 std::int32_t classes)
    : images_(std::move(images)), labels_(std::move(labels)), example_shape_(example_shape) {
  const auto n = static_cast<std::int64_t>(labels_.size());
  if (example_shape_.elements() < 1 || static_cast<std::int64_t>(images_.size()) != n * example_shape_.elements()) {
    throw std::invalid_argument("Dataset: " + std::to_string(images_.size()) + " image bytes are not " +
                                std::to_string(n) + " images of shape " + example_shape_.to_string());
  }
  set_classes(classes);
}

Dataset Dataset::from_idx(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                          const IdxPart& part) {
  IdxArray images = read_idx(images_file, part);
  IdxArray labels = read_idx(labels_file, part);
  if (images.dims.size() < 2) {
    throw DataError(images_file.string() + ": an images file needs at least 2 dimensions (count, pixels...), got " +
                    std::to_string(images.dims.size()));
  }
  if (labels.dims.size() != 1) {
    throw DataError(labels_file.string() + ": a labels file has 1 dimension, got " +
                    std::to_string(labels.dims.size()));
  }
  if (images.dims[0] != labels.dims[0]) {
    throw DataError(images_file.string() + " holds " + std::to_string(images.dims[0]) + " images but " +
                    labels_file.string() + " holds " + std::to_string(labels.dims[0]) + " labels");
  }
  Shape shape;
  if (images.dims.size() == 2) {
    shape = Shape{images.dims[1]};
  } else if (images.dims.size() == 3) {
    shape = Shape{images.dims[1], images.dims[2]};
  } else {
    shape = Shape{images.dims[1], images.dims[2], images.dims[3]};
  }
  const std::uint8_t top = labels.data.empty() ? 0 : *std::max_element(labels.data.begin(), labels.data.end());
  return Dataset(std::move(images.data), std::move(labels.data), shape, static_cast<std::int32_t>(top) + 1);
}

void Dataset::set_classes(std::int32_t classes) {
  if (classes < 1 || classes > 256) {
    throw std::invalid_argument("Dataset: classes must be in [1, 256], got " + std::to_string(classes));
  }
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i] >= classes) {
      throw std::invalid_argument("Dataset: label " + std::to_string(labels_[i]) + " of example " + std::to_string(i) +
                                  " is not below the class count " + std::to_string(classes));
    }
  }
  classes_ = classes;
}

std::span<const std::uint8_t> Dataset::image(std::int64_t i) const {
  require_example(i);
  const auto n = static_cast<std::size_t>(example_size());
  return {images_.data() + static_cast<std::size_t>(i) * n, n};
}

std::int32_t Dataset::label(std::int64_t i) const {
  require_example(i);
  return labels_[static_cast<std::size_t>(i)];
}

void Dataset::require_example(std::int64_t i) const {
  if (i < 0 || i >= size()) {
    throw std::out_of_range("Dataset: example " + std::to_string(i) + " of " + std::to_string(size()));
  }
}

Dataset Dataset::head(std::int64_t n) const {
  if (n < 0) throw std::invalid_argument("Dataset::head: n must be >= 0, got " + std::to_string(n));
  n = std::min(n, size());
  const auto pixels = static_cast<std::size_t>(n * example_size());
  return Dataset(std::vector<std::uint8_t>(images_.begin(), images_.begin() + static_cast<std::ptrdiff_t>(pixels)),
                 std::vector<std::uint8_t>(labels_.begin(), labels_.begin() + n), example_shape_, classes_);
}

void Dataset::gather(std::span<const std::int64_t> order, std::int64_t first, Tensor& x,
                     std::span<std::int32_t> labels) const {
  const std::int64_t batch = x.rows();
  if (x.row_size() != example_size() || static_cast<std::int64_t>(labels.size()) != batch || first < 0 ||
      first + batch > static_cast<std::int64_t>(order.size())) {
    throw std::invalid_argument("Dataset::gather: a batch " + x.shape().to_string() + " with " +
                                std::to_string(labels.size()) + " labels from position " + std::to_string(first) +
                                " of " + std::to_string(order.size()) + " does not fit examples of " +
                                std::to_string(example_size()) + " pixels");
  }
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int64_t index = order[static_cast<std::size_t>(first + r)];
    if (index < 0 || index >= size()) {
      throw std::invalid_argument("Dataset::gather: order[" + std::to_string(first + r) + "] = " +
                                  std::to_string(index) + " is not an example of the " + std::to_string(size()));
    }
  }
  const std::int64_t n = example_size();
  const auto convert = detail::active_kernel_set().bytes_to_floats;
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int64_t index = order[static_cast<std::size_t>(first + r)];
    convert(images_.data() + index * n, n, 1.0f / 255.0f, x.data() + r * n);
    labels[static_cast<std::size_t>(r)] = labels_[static_cast<std::size_t>(index)];
  }
}

void Dataset::prefetch(std::span<const std::int64_t> order, std::int64_t first, std::int64_t count) const noexcept {
  const std::int64_t n = example_size();
  const std::int64_t end = std::min<std::int64_t>(first + count, static_cast<std::int64_t>(order.size()));
  for (std::int64_t r = std::max<std::int64_t>(first, 0); r < end; ++r) {
    const std::int64_t index = order[static_cast<std::size_t>(r)];
    if (index < 0 || index >= size()) continue;
    const std::uint8_t* image = images_.data() + index * n;
    for (std::int64_t b = 0; b < n; b += 64) __builtin_prefetch(image + b);
    __builtin_prefetch(image + n - 1);
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

Split load_mnist(const std::filesystem::path& dir, const IdxPart& train_part) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw DataError(dir.string() + ": no such folder; run scripts/fetch-mnist, or pass the folder that holds the data");
  }
  // Looked up in this order, so that the message names the first file missing.
  const auto train_images = find_idx_file(dir, "train-images-idx3-ubyte");
  const auto train_labels = find_idx_file(dir, "train-labels-idx1-ubyte");
  const auto test_images = find_idx_file(dir, "t10k-images-idx3-ubyte");
  const auto test_labels = find_idx_file(dir, "t10k-labels-idx1-ubyte");
  Split split{Dataset::from_idx(train_images, train_labels, train_part), Dataset::from_idx(test_images, test_labels)};
  if (!(split.train.example_shape() == split.test.example_shape())) {
    throw DataError(dir.string() + ": training images are " + split.train.example_shape().to_string() +
                    " but test images are " + split.test.example_shape().to_string());
  }
  const std::int32_t classes = std::max(split.train.classes(), split.test.classes());
  split.train.set_classes(classes);
  split.test.set_classes(classes);
  return split;
}

}  // namespace tessera::data
