// Shape and Tensor: alignment, zero fill, views and slices, copy semantics, and the checks.
#define BOOST_TEST_MODULE tensor
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <stdexcept>

#include "tessera/tensor.hpp"

using namespace tessera;

BOOST_AUTO_TEST_CASE(shapes) {
  const Shape s{2, 3, 4};
  BOOST_TEST(s.rank() == 3);
  BOOST_TEST(s.elements() == 24);
  BOOST_TEST(s.to_string() == "[2, 3, 4]");
  BOOST_TEST((s.without_batch() == Shape{3, 4}));
  BOOST_TEST((Shape{3, 4}.with_batch(2) == s));
  BOOST_TEST(Shape{}.elements() == 1);
  BOOST_CHECK_THROW((Shape{1, 2, 3, 4, 5}), std::invalid_argument);
  BOOST_CHECK_THROW((Shape{2, -1}), std::invalid_argument);
  BOOST_CHECK_THROW((Shape{1, 2, 3, 4}.with_batch(2)), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(owning_tensors_are_aligned_zeroed_and_deep_copied) {
  for (std::int64_t n : {1, 3, 17, 1000}) {
    Tensor t(Shape{n});
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(t.data()) % kTensorAlignment == 0u);
    for (std::int64_t i = 0; i < n; ++i) BOOST_TEST(t[i] == 0.0f);
  }
  Tensor a(Shape{2, 3});
  a.at(1, 2) = 5.0f;
  Tensor b = a;
  BOOST_TEST(b.owns_data());
  BOOST_TEST(b.data() != a.data());
  BOOST_TEST(b.at(1, 2) == 5.0f);
  b.at(1, 2) = 1.0f;
  BOOST_TEST(a.at(1, 2) == 5.0f);
  Tensor empty;
  BOOST_TEST(empty.rank() == 0);
  BOOST_TEST(empty.data() == nullptr);
  BOOST_TEST(empty.size() == 0);
  BOOST_TEST(empty.empty());
  BOOST_TEST(Tensor(Shape{}).size() == 0);
}

BOOST_AUTO_TEST_CASE(views_slices_and_reshapes_share_data) {
  Tensor a(Shape{4, 3});
  for (std::int64_t i = 0; i < 12; ++i) a[i] = static_cast<float>(i);
  Tensor v = a.view();
  BOOST_TEST(!v.owns_data());
  Tensor copy_of_view = v;
  BOOST_TEST(copy_of_view.data() == a.data());
  Tensor rows = a.rows(1, 2);
  BOOST_TEST((rows.shape() == Shape{2, 3}));
  BOOST_TEST(rows.at(0, 0) == 3.0f);
  rows.at(1, 2) = 42.0f;
  BOOST_TEST(a.at(2, 2) == 42.0f);
  Tensor flat = a.reshaped(Shape{12});
  BOOST_TEST(flat[8] == 42.0f);
  BOOST_TEST(a.row_size() == 3);
  BOOST_CHECK_THROW(a.rows(3, 2), std::invalid_argument);
  BOOST_CHECK_THROW(a.reshaped(Shape{5, 2}), std::invalid_argument);
  BOOST_CHECK_THROW(Tensor::view(nullptr, Shape{2}), std::invalid_argument);
  Tensor other(Shape{3, 4});
  other.copy_from(a);
  BOOST_TEST(other[8] == 42.0f);
  BOOST_CHECK_THROW(other.copy_from(Tensor(Shape{5})), std::invalid_argument);
}
