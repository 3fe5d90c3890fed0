// Losses: values computed by hand, gradients by central differences, stability on huge logits, and
// the argument checks.
#define BOOST_TEST_MODULE loss
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "tessera/loss.hpp"

using namespace tessera;
using tessera::test::check_gradient;
using tessera::test::expect_invalid;
using tessera::test::fill_uniform;

BOOST_AUTO_TEST_CASE(mse_by_hand) {
  Tensor y(Shape{2, 2});
  y[0] = 0.5f, y[1] = 1.0f, y[2] = 0.0f, y[3] = 0.25f;
  const std::vector<std::int32_t> labels{1, 0};
  Tensor dy(Shape{2, 2});
  // (0.5² + 0² + 1² + 0.25²) / 4 = 1.3125 / 4
  BOOST_TEST(MSE().compute(y, labels, &dy) == 0.328125f);
  const float expected[] = {0.25f, 0.0f, -0.5f, 0.125f};  // 2(y − t)/4
  for (int i = 0; i < 4; ++i) BOOST_TEST(dy[i] == expected[i]);
  Tensor t(Shape{2, 2});
  t[1] = 1.0f, t[2] = 1.0f;
  BOOST_TEST(MSE().compute(y, t, nullptr) == 0.328125f);
}

BOOST_AUTO_TEST_CASE(cross_entropy_by_hand_and_stable) {
  Tensor z(Shape{1, 3});
  z[0] = 0.0f, z[1] = std::log(2.0f), z[2] = std::log(5.0f);  // softmax = (1, 2, 5) / 8
  const std::vector<std::int32_t> label{1};
  Tensor dz(Shape{1, 3});
  BOOST_TEST(SoftmaxCrossEntropy().compute(z, label, &dz) == std::log(4.0f), boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dz[0] == 0.125f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dz[1] == -0.75f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dz[2] == 0.625f, boost::test_tools::tolerance(1e-6f));

  Tensor huge(Shape{2, 2});
  huge[0] = 1000.0f, huge[1] = -1000.0f, huge[2] = 80.0f, huge[3] = 100.0f;
  const std::vector<std::int32_t> labels{0, 0};
  Tensor dh(Shape{2, 2});
  const float loss = SoftmaxCrossEntropy().compute(huge, labels, &dh);
  BOOST_TEST(std::isfinite(loss));
  BOOST_TEST(loss == 10.0f, boost::test_tools::tolerance(1e-5f));  // (0 + 20) / 2
  for (int i = 0; i < 4; ++i) BOOST_TEST(std::isfinite(dh[i]));
}

BOOST_AUTO_TEST_CASE(gradients_match_central_differences) {
  std::mt19937_64 rng(1);
  const std::int64_t batch = 7, n = 10;
  Tensor y(Shape{batch, n}), dy(Shape{batch, n}), target(Shape{batch, n});
  fill_uniform(y, rng, -2.0f, 2.0f);
  fill_uniform(target, rng);
  std::vector<std::int32_t> labels(batch);
  for (std::int64_t i = 0; i < batch; ++i) labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 3) % n);

  const test::Tolerance tight{1e-2, 1e-4, 1e-3};
  SoftmaxCrossEntropy ce;
  ce.compute(y, labels, &dy);
  check_gradient(
      "cross-entropy", y.data(), dy.data(), y.size(),
      [&] { return static_cast<double>(ce.compute(y, labels, nullptr)); }, tight);
  MSE mse;
  mse.compute(y, labels, &dy);
  check_gradient(
      "MSE (labels)", y.data(), dy.data(), y.size(),
      [&] { return static_cast<double>(mse.compute(y, labels, nullptr)); }, tight);
  mse.compute(y, target, &dy);
  check_gradient(
      "MSE (targets)", y.data(), dy.data(), y.size(),
      [&] { return static_cast<double>(mse.compute(y, target, nullptr)); }, tight);
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw_clear_errors) {
  Tensor y(Shape{2, 3}), dy(Shape{2, 4});
  const std::vector<std::int32_t> bad_label{0, 3}, one{0}, ok{0, 2};
  expect_invalid([&] { SoftmaxCrossEntropy().compute(y, bad_label, nullptr); },
                 "label 3 of example 1 is outside [0, 3)");
  expect_invalid([&] { MSE().compute(y, std::vector<std::int32_t>{-1, 0}, nullptr); }, "label -1");
  expect_invalid([&] { MSE().compute(y, one, nullptr); }, "1 labels for a batch of 2");
  expect_invalid([&] { SoftmaxCrossEntropy().compute(y, ok, &dy); }, "d_output must have the output's shape");
  expect_invalid([&] { MSE().compute(y, Tensor(Shape{3, 2}), nullptr); }, "target must have");
  expect_invalid([&] { MSE().compute(Tensor(Shape{6}), ok, nullptr); }, "output must have shape [B, n]");
}

BOOST_AUTO_TEST_CASE(argmax_picks_the_first_largest) {
  Tensor y(Shape{3, 3});
  const float v[] = {0, 2, 1, 5, 5, 0, -1, -2, -0.5f};
  for (int i = 0; i < 9; ++i) y[i] = v[i];
  std::vector<std::int32_t> c(3);
  argmax_rows(y, c);
  BOOST_TEST(c == (std::vector<std::int32_t>{1, 0, 2}), boost::test_tools::per_element());
}
