// MNIST-style IDX pairs and folders as Datasets.
#include "tessera/data/mnist.hpp"

#include <algorithm>
#include <string>

namespace tessera::data {

Dataset read_idx_dataset(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
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
  Split split{read_idx_dataset(train_images, train_labels, train_part), read_idx_dataset(test_images, test_labels)};
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
