// Normalize: values, the gradient by central differences, the exact constants back from its spec,
// and the argument checks.
#define BOOST_TEST_MODULE normalize
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>

#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "tessera/layers/normalize.hpp"

using namespace tessera;

BOOST_AUTO_TEST_CASE(shifts_and_scales_every_value) {
  Normalize norm(0.1307f, 0.3081f);
  norm.connect(Shape{28, 28, 1});
  BOOST_TEST((norm.out_shape() == Shape{28, 28, 1}));
  Tensor x(Shape{3, 28, 28, 1}), y(x.shape());
  std::mt19937_64 rng(1);
  test::fill_uniform(x, rng, 0.0f, 1.0f);
  norm.forward(x, y);
  double worst = 0.0;
  for (std::int64_t i = 0; i < x.size(); ++i) {
    const double expected = (static_cast<double>(x[i]) - 0.1307) / 0.3081;
    worst = std::max(worst, std::abs(static_cast<double>(y[i]) - expected));
  }
  BOOST_TEST(worst < 1e-6);
}

BOOST_AUTO_TEST_CASE(gradient_matches_central_differences) {
  Normalize norm(-0.5f, 2.5f);
  norm.connect(Shape{17});
  Tensor x(Shape{4, 17}), y(x.shape()), r(x.shape()), dx(x.shape());
  std::mt19937_64 rng(2);
  test::fill_uniform(x, rng);
  test::fill_uniform(r, rng);
  norm.forward(x, y);
  norm.backward(x, y, r, &dx, false);
  test::check_gradient("Normalize dx", x.data(), dx.data(), x.size(), [&] {
    norm.forward(x, y);
    return test::weighted_sum(y, r);
  });
}

BOOST_AUTO_TEST_CASE(spec_gives_back_the_exact_constants) {
  const Normalize norm(0.1307f, 0.3081f);
  const auto copy = make_layer(norm.spec());
  const auto& back = dynamic_cast<const Normalize&>(*copy);
  BOOST_TEST(back.mean() == 0.1307f);
  BOOST_TEST(back.stddev() == 0.3081f);
  test::expect_invalid([] { make_layer({"Normalize", {1, -3}}); }, "is not the bits of a float");
}

BOOST_AUTO_TEST_CASE(bad_constants_throw) {
  test::expect_invalid([] { Normalize(0.0f, 0.0f); }, "stddev finite and > 0");
  test::expect_invalid([] { Normalize(0.0f, -1.0f); }, "stddev finite and > 0");
  test::expect_invalid([] { Normalize(std::nanf(""), 1.0f); }, "mean must be finite");
  test::expect_invalid([] { Normalize(0.0f, INFINITY); }, "stddev finite and > 0");
}
