// Dataset: the committed MNIST sample, batches as floats in [0, 1], the epoch shuffle, and the checks.
#define BOOST_TEST_MODULE dataset
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

#include "support/expect_error.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "tessera/data/mnist.hpp"
#include "tessera/data/idx.hpp"

using namespace tessera;
using tessera::data::DataError;
using tessera::test::expect_error;
using tessera::test::expect_invalid;

namespace {
const std::filesystem::path kSample = TESSERA_TEST_DATA "/mnist-sample";
}

BOOST_AUTO_TEST_CASE(loads_the_committed_sample) {
  const data::Split split = data::load_mnist(kSample);
  BOOST_TEST(split.train.size() == 3000);
  BOOST_TEST(split.test.size() == 500);
  BOOST_TEST((split.train.example_shape() == Shape{28, 28}));
  BOOST_TEST(split.train.classes() == 10);
  BOOST_TEST(split.test.classes() == 10);
  BOOST_TEST(split.train.label(0) == 5);  // MNIST's first training image is a 5
  BOOST_TEST(split.test.label(0) == 7);   // and its first test image a 7
}

BOOST_AUTO_TEST_CASE(batches_are_scaled_floats_in_the_given_order) {
  const data::Split split = data::load_mnist(kSample);
  const auto& train = split.train;
  Tensor x(Shape{3, 784});
  std::vector<std::int32_t> labels(3);
  const std::vector<std::int64_t> order{2999, 0, 17};
  train.gather(order, 0, x, labels);
  for (std::int64_t r = 0; r < 3; ++r) {
    const auto image = train.image(order[static_cast<std::size_t>(r)]);
    for (std::int64_t j = 0; j < 784; ++j) {
      BOOST_REQUIRE(x.at(r, j) == static_cast<float>(image[static_cast<std::size_t>(j)]) * (1.0f / 255.0f));
    }
    BOOST_TEST(labels[static_cast<std::size_t>(r)] == train.label(order[static_cast<std::size_t>(r)]));
  }
  Tensor wrong(Shape{3, 783});
  expect_invalid([&] { train.gather(order, 0, wrong, labels); }, "does not fit examples of 784 pixels");
  expect_invalid([&] { train.gather(order, 1, x, labels); }, "from position 1 of 3");
}

BOOST_AUTO_TEST_CASE(the_shuffle_is_a_permutation_fixed_by_seed_and_epoch) {
  const data::Split split = data::load_mnist(kSample);
  const auto a = split.train.shuffled_order(7, 1);
  BOOST_TEST(a == split.train.shuffled_order(7, 1), boost::test_tools::per_element());
  BOOST_TEST(a != split.train.shuffled_order(7, 2));
  BOOST_TEST(a != split.train.shuffled_order(8, 1));
  std::vector<std::int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  BOOST_TEST(sorted == split.train.sequential_order(), boost::test_tools::per_element());
  // Golden: the order must not change between versions or machines.
  BOOST_TEST(a[0] == 379);
}

BOOST_AUTO_TEST_CASE(head_and_checks) {
  const data::Split split = data::load_mnist(kSample);
  const data::Dataset few = split.train.head(10);
  BOOST_TEST(few.size() == 10);
  BOOST_TEST(few.label(9) == split.train.label(9));
  expect_invalid([] { data::Dataset({1, 2, 3}, {0, 1}, Shape{2}, 2); }, "3 image bytes are not 2 images");
  expect_invalid([] { data::Dataset({1, 2, 3, 4}, {0, 2}, Shape{2}, 2); }, "label 2 of example 1");
}

BOOST_AUTO_TEST_CASE(mismatched_files_name_both) {
  test::TempDir dir;
  test::write_gzip(dir / "train-images-idx3-ubyte.gz", test::idx_bytes({3, 2, 2}, std::vector<std::uint8_t>(12)));
  test::write_gzip(dir / "train-labels-idx1-ubyte.gz", test::idx_bytes({2}, {0, 1}));
  expect_error<DataError>(
      [&] { data::read_idx_dataset(dir / "train-images-idx3-ubyte.gz", dir / "train-labels-idx1-ubyte.gz"); },
      "holds 3 images but");
  test::write_gzip(dir / "train-labels-idx1-ubyte.gz", test::idx_bytes({3}, {0, 1, 1}));
  expect_error<DataError>([&] { data::load_mnist(dir.path()); }, "no t10k-images-idx3-ubyte file");
  expect_error<DataError>([&] { data::load_mnist(dir / "nowhere"); }, "no such folder");
}
