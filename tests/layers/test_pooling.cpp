// MaxPool2D: forward against the windows written out, gradients by central differences (windows side
// by side and overlapping), ties, and the argument checks; AvgPool2D and GlobalAvgPool2D likewise.
#define BOOST_TEST_MODULE pooling
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <limits>
#include <random>

#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "tessera/layers/pooling.hpp"

using namespace tessera;
using tessera::test::check_gradient;
using tessera::test::expect_invalid;
using tessera::test::fill_uniform;
using tessera::test::weighted_sum;

namespace {
struct Case {
  std::int64_t batch, h, w, c, size, stride;
};
}  // namespace

BOOST_AUTO_TEST_CASE(forward_takes_the_largest_of_each_window) {
  std::mt19937_64 rng(1);
  for (const Case& k : {Case{2, 4, 4, 1, 2, 2}, Case{3, 7, 5, 3, 2, 2}, Case{2, 9, 9, 5, 3, 2},
                        Case{1, 24, 24, 32, 2, 2}, Case{2, 5, 6, 300, 2, 1}, Case{1, 3, 3, 2, 3, 3}}) {
    MaxPool2D pool(k.size, k.stride);
    pool.connect(Shape{k.h, k.w, k.c});
    const Shape& out = pool.out_shape();
    BOOST_TEST((out == Shape{(k.h - k.size) / k.stride + 1, (k.w - k.size) / k.stride + 1, k.c}));
    Tensor x(Shape{k.batch, k.h, k.w, k.c}), y(out.with_batch(k.batch));
    fill_uniform(x, rng);
    pool.forward(x, y);
    std::int64_t wrong = 0;
    for (std::int64_t n = 0; n < k.batch; ++n) {
      for (std::int64_t oy = 0; oy < out[0]; ++oy) {
        for (std::int64_t ox = 0; ox < out[1]; ++ox) {
          for (std::int64_t ch = 0; ch < k.c; ++ch) {
            float best = -std::numeric_limits<float>::infinity();
            for (std::int64_t i = 0; i < k.size; ++i) {
              for (std::int64_t j = 0; j < k.size; ++j) {
                best = std::max(best, x[((n * k.h + oy * k.stride + i) * k.w + ox * k.stride + j) * k.c + ch]);
              }
            }
            wrong += y[((n * out[0] + oy) * out[1] + ox) * k.c + ch] != best;
          }
        }
      }
    }
    BOOST_TEST(wrong == 0);
  }
}

BOOST_AUTO_TEST_CASE(gradients_match_central_differences) {
  std::mt19937_64 rng(2);
  for (const Case& k :
       {Case{2, 4, 4, 3, 2, 2}, Case{2, 7, 5, 2, 2, 2}, Case{1, 9, 9, 3, 3, 2}, Case{2, 5, 5, 2, 2, 1}}) {
    MaxPool2D pool(k.size, k.stride);
    pool.connect(Shape{k.h, k.w, k.c});
    Tensor x(Shape{k.batch, k.h, k.w, k.c}), dx(x.shape());
    Tensor y(pool.out_shape().with_batch(k.batch)), r(y.shape());
    fill_uniform(x, rng);
    fill_uniform(r, rng);
    pool.forward(x, y);
    pool.backward(x, y, r, &dx, false);
    const auto f = [&] {
      pool.forward(x, y);
      return weighted_sum(y, r);
    };
    test::Tolerance tol;
    tol.step = 1e-3;
    tol.kink = 1e-4;  // a step that changes which input is a window's largest
    check_gradient(pool.name() + " dx", x.data(), dx.data(), x.size(), f, tol);
  }
}

BOOST_AUTO_TEST_CASE(a_tie_sends_the_gradient_to_the_first_largest_input) {
  MaxPool2D pool(2);
  pool.connect(Shape{2, 2, 1});
  Tensor x(Shape{1, 2, 2, 1}), y(Shape{1, 1, 1, 1}), dy(Shape{1, 1, 1, 1}), dx(Shape{1, 2, 2, 1});
  x[0] = 0.5f, x[1] = 2.0f, x[2] = 2.0f, x[3] = 1.0f;
  dy[0] = 3.0f;
  pool.forward(x, y);
  BOOST_TEST(y[0] == 2.0f);
  pool.backward(x, y, dy, &dx, false);
  BOOST_TEST(dx[0] == 0.0f);
  BOOST_TEST(dx[1] == 3.0f);
  BOOST_TEST(dx[2] == 0.0f);
  BOOST_TEST(dx[3] == 0.0f);
}

BOOST_AUTO_TEST_CASE(bad_arguments_and_shapes_throw) {
  expect_invalid([] { MaxPool2D(0); }, "size must be >= 1");
  expect_invalid([] { MaxPool2D(2, -1); }, "stride -1");
  expect_invalid([] { MaxPool2D(2).connect(Shape{64}); }, "takes images of shape [height, width, channels], got [64]");
  expect_invalid([] { MaxPool2D(3).connect(Shape{2, 8, 4}); }, "window is larger than the image [2, 8, 4]");
  MaxPool2D pool(2);
  BOOST_TEST(pool.stride() == 2);
  pool.connect(Shape{4, 4, 3});
  Tensor x(Shape{2, 4, 4, 3}), y(Shape{2, 2, 2, 2});
  expect_invalid([&] { pool.forward(x, y); }, "output must have shape [2, 2, 2, 3]");
}

BOOST_AUTO_TEST_CASE(average_pooling_against_a_double_reference_and_central_differences) {
  std::mt19937_64 rng(7);
  for (const Case& k : {Case{2, 4, 4, 3, 2, 2}, Case{2, 7, 5, 3, 3, 2}, Case{1, 6, 6, 17, 2, 1}, Case{2, 9, 8, 2, 2, 3},
                        Case{1, 3, 3, 4, 3, 3}}) {
    AvgPool2D pool(k.size, k.stride);
    pool.connect(Shape{k.h, k.w, k.c});
    const Shape& out = pool.out_shape();
    BOOST_TEST((out == Shape{(k.h - k.size) / k.stride + 1, (k.w - k.size) / k.stride + 1, k.c}));
    Tensor x(Shape{k.batch, k.h, k.w, k.c}), y(out.with_batch(k.batch)), r(y.shape()), dx(x.shape());
    fill_uniform(x, rng);
    fill_uniform(r, rng);
    pool.forward(x, y);
    double worst = 0.0;
    for (std::int64_t n = 0; n < k.batch; ++n) {
      for (std::int64_t oy = 0; oy < out[0]; ++oy) {
        for (std::int64_t ox = 0; ox < out[1]; ++ox) {
          for (std::int64_t ch = 0; ch < k.c; ++ch) {
            double sum = 0.0;
            for (std::int64_t i = 0; i < k.size; ++i) {
              for (std::int64_t j = 0; j < k.size; ++j) {
                sum += static_cast<double>(x[((n * k.h + oy * k.stride + i) * k.w + ox * k.stride + j) * k.c + ch]);
              }
            }
            const double expected = sum / static_cast<double>(k.size * k.size);
            worst = std::max(worst,
                             std::abs(expected - static_cast<double>(y[((n * out[0] + oy) * out[1] + ox) * k.c + ch])));
          }
        }
      }
    }
    BOOST_TEST(worst < 1e-6);
    pool.backward(x, y, r, &dx, false);
    check_gradient(pool.name() + " dx", x.data(), dx.data(), x.size(), [&] {
      pool.forward(x, y);
      return weighted_sum(y, r);
    });
  }
  GlobalAvgPool2D global;
  global.connect(Shape{5, 3, 6});
  BOOST_TEST((global.out_shape() == Shape{6}));
  Tensor x(Shape{2, 5, 3, 6}), y(Shape{2, 6}), r(y.shape()), dx(x.shape());
  fill_uniform(x, rng);
  fill_uniform(r, rng);
  global.forward(x, y);
  double sum = 0.0;
  for (std::int64_t p = 0; p < 15; ++p) sum += static_cast<double>(x[(15 + p) * 6 + 4]);  // image 1, channel 4
  BOOST_TEST(static_cast<double>(y[6 + 4]) == sum / 15.0, boost::test_tools::tolerance(1e-6));
  global.backward(x, y, r, &dx, false);
  check_gradient("GlobalAvgPool2D dx", x.data(), dx.data(), x.size(), [&] {
    global.forward(x, y);
    return weighted_sum(y, r);
  });
  BOOST_TEST(make_layer(AvgPool2D(3, 2).spec())->name() == "AvgPool2D(3, stride 2)");
  BOOST_TEST(make_layer({"GlobalAvgPool2D", {}})->name() == "GlobalAvgPool2D");
  expect_invalid([] { AvgPool2D(0); }, "size must be >= 1");
  expect_invalid([&] { AvgPool2D(4).connect(Shape{3, 3, 1}); }, "the window is larger than the image");
  expect_invalid([&] { GlobalAvgPool2D().connect(Shape{9}); }, "takes images of shape [height, width, channels]");
}
