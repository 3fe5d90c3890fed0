// Flatten: shapes, and both directions keep every value in place.
#define BOOST_TEST_MODULE flatten
#include <boost/test/unit_test.hpp>

#include "support/expect_error.hpp"
#include "tessera/layers/flatten.hpp"

using namespace tessera;

BOOST_AUTO_TEST_CASE(keeps_values_and_order) {
  Flatten flatten;
  flatten.connect(Shape{4, 4, 64});
  BOOST_TEST((flatten.out_shape() == Shape{1024}));
  Tensor x(Shape{3, 4, 4, 64}), y(Shape{3, 1024}), dy(Shape{3, 1024}), dx(x.shape());
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  for (std::int64_t i = 0; i < dy.size(); ++i) dy[i] = static_cast<float>(-i);
  flatten.forward(x, y);
  flatten.backward(x, y, dy, &dx, false);
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < x.size(); ++i) wrong += y[i] != x[i] || dx[i] != dy[i];
  BOOST_TEST(wrong == 0);
  Tensor bad(Shape{3, 1000});
  test::expect_invalid([&] { flatten.forward(x, bad); }, "output must have shape [3, 1024]");
}
