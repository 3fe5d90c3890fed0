// Activation layers: values, gradients by central differences (away from ReLU's kink), any shape,
// and the softmax's normalisation and stability.
#define BOOST_TEST_MODULE activations
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <memory>
#include <random>

#include "support/activation_reference.hpp"
#include "support/finite_difference.hpp"
#include "tessera/layers/activations.hpp"

using namespace tessera;
using tessera::test::check_gradient;
using tessera::test::fill_uniform;
using tessera::test::weighted_sum;

namespace {
// Inputs in ±[0.1, 3]: no closer to ReLU's kink than the difference step.
void fill_away_from_zero(Tensor& t, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> mag(0.1f, 3.0f);
  std::bernoulli_distribution sign(0.5);
  for (std::int64_t i = 0; i < t.size(); ++i) t[i] = sign(rng) ? mag(rng) : -mag(rng);
}
}  // namespace

BOOST_AUTO_TEST_CASE(elementwise_values_and_gradients) {
  std::mt19937_64 rng(1);
  // Sizes below and above the parallel chunk, and a rank-3 example shape.
  for (const Shape& example : {Shape{7}, Shape{3, 4, 5}, Shape{40000}}) {
    for (Activation a : {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh}) {
      auto layer = make_activation(a);
      layer->connect(example);
      BOOST_TEST((layer->out_shape() == example));
      BOOST_TEST((layer->epilogue_activation() == a));
      const Shape batch = example.with_batch(2);
      Tensor x(batch), y(batch), r(batch), dx(batch);
      fill_away_from_zero(x, rng);
      fill_uniform(r, rng);
      layer->forward(x, y);
      double worst = 0.0;
      for (std::int64_t i = 0; i < x.size(); ++i) {
        worst = std::max(
            worst, std::abs(static_cast<double>(y[i]) - test::reference_activation(a, static_cast<double>(x[i]))));
      }
      BOOST_TEST(worst < 1e-6, layer->name() << " " << example.to_string() << ": error " << worst);
      layer->backward(x, y, r, &dx, false);
      const auto loss = [&] {
        layer->forward(x, y);
        return weighted_sum(y, r);
      };
      check_gradient(layer->name() + " " + example.to_string() + " dx", x.data(), dx.data(), x.size(), loss);
    }
  }
}

BOOST_AUTO_TEST_CASE(backward_reads_only_the_output) {
  // What lets an activation be fused: passing y as x gives the same gradient.
  std::mt19937_64 rng(2);
  for (Activation a : {Activation::ReLU, Activation::Sigmoid, Activation::Tanh}) {
    auto layer = make_activation(a);
    layer->connect(Shape{50});
    Tensor x(Shape{3, 50}), y(Shape{3, 50}), dy(Shape{3, 50}), dx1(Shape{3, 50}), dx2(Shape{3, 50});
    fill_away_from_zero(x, rng);
    fill_uniform(dy, rng);
    layer->forward(x, y);
    layer->backward(x, y, dy, &dx1, false);
    layer->backward(y, y, dy, &dx2, false);
    for (std::int64_t i = 0; i < dx1.size(); ++i) BOOST_TEST(dx1[i] == dx2[i]);
  }
}

BOOST_AUTO_TEST_CASE(softmax_normalises_is_stable_and_has_the_right_gradient) {
  std::mt19937_64 rng(3);
  Softmax softmax;
  softmax.connect(Shape{10});
  Tensor x(Shape{5, 10}), y(Shape{5, 10}), r(Shape{5, 10}), dx(Shape{5, 10});
  fill_uniform(x, rng, -3.0f, 3.0f);
  x.at(4, 2) = 1000.0f;  // would overflow exp without the max subtracted
  fill_uniform(r, rng);
  softmax.forward(x, y);
  for (std::int64_t row = 0; row < 5; ++row) {
    double s = 0.0;
    for (std::int64_t j = 0; j < 10; ++j) s += static_cast<double>(y.at(row, j));
    BOOST_TEST(std::abs(s - 1.0) < 1e-6);
  }
  BOOST_TEST(y.at(4, 2) == 1.0f);
  x.at(4, 2) = 0.5f;
  softmax.forward(x, y);
  softmax.backward(x, y, r, &dx, false);
  const auto loss = [&] {
    softmax.forward(x, y);
    return weighted_sum(y, r);
  };
  check_gradient("softmax dx", x.data(), dx.data(), x.size(), loss);
  BOOST_CHECK_THROW(Softmax().connect(Shape{2, 3}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(log_softmax_is_the_log_of_softmax_stable_with_the_right_gradient) {
  std::mt19937_64 rng(4);
  LogSoftmax log_softmax;
  Softmax softmax;
  log_softmax.connect(Shape{10});
  softmax.connect(Shape{10});
  Tensor x(Shape{5, 10}), y(Shape{5, 10}), p(Shape{5, 10}), r(Shape{5, 10}), dx(Shape{5, 10});
  fill_uniform(x, rng, -3.0f, 3.0f);
  fill_uniform(r, rng);
  log_softmax.forward(x, y);
  softmax.forward(x, p);
  for (std::int64_t i = 0; i < y.size(); ++i) BOOST_TEST(std::abs(std::exp(y[i]) - p[i]) < 1e-6f);
  x.at(4, 2) = 1000.0f;  // exp would overflow without the max subtracted
  log_softmax.forward(x, y);
  BOOST_TEST(y.at(4, 2) == 0.0f);
  BOOST_TEST(std::isfinite(y.at(4, 3)));
  x.at(4, 2) = 0.5f;
  log_softmax.forward(x, y);
  log_softmax.backward(x, y, r, &dx, false);
  const auto loss = [&] {
    log_softmax.forward(x, y);
    return weighted_sum(y, r);
  };
  check_gradient("log-softmax dx", x.data(), dx.data(), x.size(), loss);
  BOOST_CHECK_THROW(LogSoftmax().connect(Shape{2, 3}), std::invalid_argument);
}
