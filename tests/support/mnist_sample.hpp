// The committed MNIST sample (tests/data/mnist-sample: 3,000 training and 500 test images), loaded
// once per test program.
#pragma once

#include <filesystem>

#include "tessera/data/mnist.hpp"

namespace tessera::test {

inline const std::filesystem::path& mnist_sample_dir() {
  static const std::filesystem::path dir = TESSERA_TEST_DATA "/mnist-sample";
  return dir;
}

inline const data::Split& mnist_sample() {
  static const data::Split split = data::load_mnist(mnist_sample_dir());
  return split;
}

}  // namespace tessera::test
