// Dataset: the committed MNIST sample, batches as floats in [0, 1], the epoch shuffle, the checks, and
// every example and target kind built from arrays.
#define BOOST_TEST_MODULE dataset
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

#include "support/expect_error.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "tessera/data/idx.hpp"
#include "tessera/data/mnist.hpp"

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

// Every example and target kind from the user's own arrays comes back as it went in: bytes with a
// scale or floats; classes or values of width 2; through a shuffled gather, split, part, subset, head.
BOOST_AUTO_TEST_CASE(every_kind_round_trips_through_gather_split_and_parts) {
  const std::int64_t n = 23;
  std::vector<float> floats(static_cast<std::size_t>(n * 3)), values(static_cast<std::size_t>(n * 2));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(n * 3));
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < floats.size(); ++i) {
    floats[i] = static_cast<float>(i) * 0.5f - 7.0f;
    bytes[i] = static_cast<std::uint8_t>(i * 11);
  }
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * -0.25f;
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 5) * 100;  // 401 classes
  const std::vector<data::Dataset> sets{
      data::Dataset(floats, Shape{3}, data::Targets::values(values, 2)),
      data::Dataset(floats, Shape{3}, data::Targets::classes(labels)),
      data::Dataset(bytes, 0.5f, Shape{1, 3}, data::Targets::values(values, 2)),
      data::Dataset(bytes, 0.5f, Shape{1, 3}, data::Targets::classes(labels, 0, {})),
  };
  for (const data::Dataset& d : sets) {
    BOOST_TEST_CONTEXT((d.holds_bytes() ? "bytes, " : "floats, ") << to_string(d.target_kind())) {
      BOOST_TEST(d.size() == n);
      if (d.target_kind() == TargetKind::Classes) BOOST_TEST(d.classes() == 401);
      // A shuffled gather of everything, then each example and target compared with the arrays.
      const auto order = d.shuffled_order(3, 1);
      Tensor x(Shape{n, 3});
      TargetBuffer t = d.target_buffer(n);
      d.gather(order, 0, x, t);
      const TargetBatch b = t.batch(n);
      for (std::int64_t r = 0; r < n; ++r) {
        const auto i = static_cast<std::size_t>(order[static_cast<std::size_t>(r)]);
        for (std::size_t j = 0; j < 3; ++j) {
          const float expected = d.holds_bytes() ? static_cast<float>(bytes[i * 3 + j]) * 0.5f : floats[i * 3 + j];
          BOOST_TEST(x.at(r, static_cast<std::int64_t>(j)) == expected);
        }
        if (b.kind == TargetKind::Classes) {
          BOOST_TEST(b.classes[static_cast<std::size_t>(r)] == labels[i]);
        } else {
          BOOST_TEST(b.values[static_cast<std::size_t>(r) * 2] == values[i * 2]);
          BOOST_TEST(b.values[static_cast<std::size_t>(r) * 2 + 1] == values[i * 2 + 1]);
        }
      }
      // A split: its halves hold every example once, in order; the same seed, the same split.
      const auto halves = d.split(0.3, 9);
      BOOST_TEST(halves.second.size() == 7);  // round(0.3 · 23)
      BOOST_TEST(halves.first.size() + halves.second.size() == n);
      BOOST_TEST(d.split(0.3, 9).second.size() == 7);
      const auto first_of = [](const data::Dataset& s, std::int64_t i) {
        return s.holds_bytes() ? static_cast<float>(s.image(i)[0]) : s.features(i)[0];
      };
      std::vector<float> seen;
      for (const auto* h : {&halves.first, &halves.second}) {
        for (std::int64_t i = 0; i < h->size(); ++i) seen.push_back(first_of(*h, i));
        BOOST_TEST(h->target_kind() == d.target_kind());
      }
      std::sort(seen.begin(), seen.end());
      std::vector<float> all;
      for (std::int64_t i = 0; i < n; ++i) all.push_back(first_of(d, i));
      std::sort(all.begin(), all.end());
      BOOST_TEST(seen == all, boost::test_tools::per_element());
      // Parts in order, sized as IdxPart says, together the whole; a limit first.
      std::int64_t next = 0;
      for (std::int64_t p = 0; p < 3; ++p) {
        const data::Dataset part = d.part({p, 3, 0});
        BOOST_TEST(part.size() == (n - p + 2) / 3);
        for (std::int64_t i = 0; i < part.size(); ++i, ++next) BOOST_TEST(first_of(part, i) == first_of(d, next));
      }
      BOOST_TEST(next == n);
      BOOST_TEST(d.part({1, 2, 10}).size() == 5);
      BOOST_TEST(d.head(4).size() == 4);
      BOOST_TEST(first_of(d.subset(std::vector<std::int64_t>{5, 2}), 1) == first_of(d, 2));
    }
  }
}
