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

// The losses added for regression and multi-label targets, and the weighted cross-entropy: values by
// hand and gradients by central differences, with both target kinds where a loss takes both.
BOOST_AUTO_TEST_CASE(regression_losses_by_hand) {
  Tensor y(Shape{2, 2}), t(Shape{2, 2});
  const float yv[] = {1.0f, -2.0f, 0.5f, 3.0f}, tv[] = {0.0f, 0.0f, 0.5f, 0.5f};
  for (int i = 0; i < 4; ++i) y[i] = yv[i], t[i] = tv[i];
  Tensor dy(Shape{2, 2});
  // |d| = 1, 2, 0, 2.5
  BOOST_TEST(L1().compute(y, t, &dy) == 5.5f / 4.0f);
  const float l1_grad[] = {0.25f, -0.25f, 0.0f, 0.25f};
  for (int i = 0; i < 4; ++i) BOOST_TEST(dy[i] == l1_grad[i]);
  // delta 1: ½·1, 1·(2 − ½), 0, 1·(2.5 − ½)
  BOOST_TEST(Huber(1.0f).compute(y, t, &dy) == (0.5f + 1.5f + 0.0f + 2.0f) / 4.0f);
  const float huber_grad[] = {0.25f, -0.25f, 0.0f, 0.25f};
  for (int i = 0; i < 4; ++i) BOOST_TEST(dy[i] == huber_grad[i]);
  // delta 3: all quadratic, ½d² → half the squared error
  BOOST_TEST(Huber(3.0f).compute(y, t, nullptr) == 0.5f * (1.0f + 4.0f + 0.0f + 6.25f) / 4.0f);
  BOOST_TEST(Huber(2.5f).name() == "Huber(delta=2.5)");
  expect_invalid([] { Huber(0.0f); }, "delta must be finite and > 0");
  expect_invalid([&] { L1().compute(y, std::vector<std::int32_t>{0, 1}, nullptr); }, "takes value targets");
  expect_invalid([&] { Huber().compute(y, Tensor(Shape{2, 3}), nullptr); }, "target must have");
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_by_hand_and_stable) {
  Tensor z(Shape{1, 2}), t(Shape{1, 2});
  z[0] = 0.0f, z[1] = std::log(3.0f);  // sigmoids 1/2 and 3/4
  t[0] = 1.0f, t[1] = 0.0f;
  Tensor dz(Shape{1, 2});
  const float expected = static_cast<float>((std::log(2.0) + std::log(4.0)) / 2.0);  // −log ½ − log ¼
  BOOST_TEST(BinaryCrossEntropyWithLogits().compute(z, t, &dz) == expected, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dz[0] == -0.25f, boost::test_tools::tolerance(1e-6f));  // (½ − 1)/2
  BOOST_TEST(dz[1] == 0.375f, boost::test_tools::tolerance(1e-6f));  // (¾ − 0)/2
  // One output with class labels 0/1: the label is the target.
  Tensor one(Shape{2, 1});
  one[0] = 0.0f, one[1] = std::log(3.0f);
  BOOST_TEST(BinaryCrossEntropyWithLogits().compute(one, std::vector<std::int32_t>{1, 0}, nullptr) == expected,
             boost::test_tools::tolerance(1e-6f));
  expect_invalid(
      [&] {
        BinaryCrossEntropyWithLogits().compute(one, std::vector<std::int32_t>{2, 0}, nullptr);
      },
      "label 2 of example 0 is outside [0, 2)");
  Tensor huge(Shape{1, 2}), ht(Shape{1, 2});
  huge[0] = 200.0f, huge[1] = -200.0f;
  ht[0] = 0.0f, ht[1] = 1.0f;
  const float loss = BinaryCrossEntropyWithLogits().compute(huge, ht, &dz);
  BOOST_TEST(loss == 200.0f, boost::test_tools::tolerance(1e-5f));
  BOOST_TEST(std::isfinite(dz[0]));
  BOOST_TEST(std::isfinite(dz[1]));
}

BOOST_AUTO_TEST_CASE(weighted_cross_entropy_is_pytorchs_weighted_mean) {
  Tensor z(Shape{2, 3});
  const float v[] = {0.1f, 0.7f, -0.3f, 1.2f, -0.4f, 0.0f};
  for (int i = 0; i < 6; ++i) z[i] = v[i];
  const std::vector<std::int32_t> labels{1, 2};
  const std::vector<float> w{1.0f, 2.0f, 0.5f};
  // Per-example losses by hand: log Σ exp(z) − z_label, weighted by the label's weight.
  const auto l = [&](int r, int label) {
    double s = 0;
    for (int j = 0; j < 3; ++j) s += std::exp(static_cast<double>(v[r * 3 + j]));
    return std::log(s) - static_cast<double>(v[r * 3 + label]);
  };
  const double expected = (2.0 * l(0, 1) + 0.5 * l(1, 2)) / 2.5;
  SoftmaxCrossEntropy weighted(w);
  BOOST_TEST(weighted.compute(z, labels, nullptr) == static_cast<float>(expected), boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(weighted.name() == "SoftmaxCrossEntropy(weights 1, 2, 0.5)");
  // Equal weights: the unweighted loss, to the bit.
  Tensor d1(Shape{2, 3}), d2(Shape{2, 3});
  const float a = SoftmaxCrossEntropy({3.0f, 3.0f, 3.0f}).compute(z, labels, &d1);
  const float b = SoftmaxCrossEntropy().compute(z, labels, &d2);
  BOOST_TEST(a == b, boost::test_tools::tolerance(1e-7f));
  expect_invalid([] { SoftmaxCrossEntropy({1.0f, -1.0f}); }, "class weights must be finite and >= 0");
  expect_invalid([] { SoftmaxCrossEntropy({0.0f, 0.0f}); }, "every class weight is 0");
  expect_invalid([&] { SoftmaxCrossEntropy({1.0f, 1.0f}).compute(z, labels, nullptr); }, "2 class weights");
  expect_invalid([&] { SoftmaxCrossEntropy().compute(z, Tensor(Shape{2, 3}), nullptr); }, "takes classes, not values");
}

BOOST_AUTO_TEST_CASE(new_losses_match_central_differences) {
  std::mt19937_64 rng(2);
  const std::int64_t batch = 6, n = 5;
  Tensor y(Shape{batch, n}), dy(Shape{batch, n}), target(Shape{batch, n}), unit(Shape{batch, n});
  fill_uniform(y, rng, -2.0f, 2.0f);
  fill_uniform(target, rng, -2.0f, 2.0f);
  fill_uniform(unit, rng, 0.0f, 1.0f);
  std::vector<std::int32_t> labels(batch);
  for (std::int64_t i = 0; i < batch; ++i) labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 2) % n);
  const test::Tolerance tight{1e-3, 1e-4, 1e-3};
  // L1 and Huber have kinks (at y = t, |y − t| = delta): skip the few points within h of one.
  const test::Tolerance kinked{1e-3, 1e-4, 1e-3, 1e-6};
  const auto check = [&](const std::string& what, const Loss& loss, const TargetBatch& t, const test::Tolerance& tol) {
    loss.compute(y, t, &dy);
    check_gradient(
        what, y.data(), dy.data(), y.size(), [&] { return static_cast<double>(loss.compute(y, t, nullptr)); }, tol);
  };
  check("L1", L1(), TargetBatch::of_values(target), kinked);
  check("Huber(0.5)", Huber(0.5f), TargetBatch::of_values(target), kinked);
  check("MSE (values)", MSE(), TargetBatch::of_values(target), tight);
  check("BCE (values)", BinaryCrossEntropyWithLogits(), TargetBatch::of_values(unit), tight);
  check("BCE (one-hot classes)", BinaryCrossEntropyWithLogits(), TargetBatch::of_classes(labels), tight);
  check("weighted cross-entropy", SoftmaxCrossEntropy({0.5f, 1.0f, 2.0f, 1.5f, 0.25f}), TargetBatch::of_classes(labels),
        tight);
}

BOOST_AUTO_TEST_CASE(losses_say_which_targets_they_take) {
  BOOST_TEST(SoftmaxCrossEntropy().accepts(TargetKind::Classes));
  BOOST_TEST(!SoftmaxCrossEntropy().accepts(TargetKind::Values));
  BOOST_TEST(!L1().accepts(TargetKind::Classes));
  BOOST_TEST(!Huber().accepts(TargetKind::Classes));
  BOOST_TEST(MSE().accepts(TargetKind::Classes));
  BOOST_TEST(MSE().accepts(TargetKind::Values));
  expect_invalid([] { SoftmaxCrossEntropy().check_targets(TargetKind::Values, 1, 0, 1); },
                 "does not take targets that are values (a regression task)");
  expect_invalid([] { L1().check_targets(TargetKind::Classes, 1, 3, 3); }, "(a classification task)");
  expect_invalid([] { MSE().check_targets(TargetKind::Values, 2, 0, 3); }, "3 outputs but the targets are 2 values");
  expect_invalid([] { SoftmaxCrossEntropy().check_targets(TargetKind::Classes, 1, 4, 3); },
                 "outputs cannot score the data's 4 classes");
  expect_invalid([] { BinaryCrossEntropyWithLogits().check_targets(TargetKind::Classes, 1, 3, 1); },
                 "with one output scores 2 classes, not 3");
  BinaryCrossEntropyWithLogits().check_targets(TargetKind::Classes, 1, 2, 1);  // binary: fine
  SoftmaxCrossEntropy({1.0f, 2.0f}).check_targets(TargetKind::Classes, 1, 2, 2);
  expect_invalid(
      [] {
        SoftmaxCrossEntropy({1.0f, 2.0f}).check_targets(TargetKind::Classes, 1, 2, 3);
      },
      "has 2 class weights for a network of 3 outputs");
}
