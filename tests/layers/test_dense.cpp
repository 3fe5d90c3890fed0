// Dense: forward against a double-precision reference (bias and every fused activation), gradients by
// central differences, accumulation, and the argument checks.
#define BOOST_TEST_MODULE dense
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "support/activation_reference.hpp"
#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "support/isa.hpp"
#include "tessera/layers/dense.hpp"

using namespace tessera;
using tessera::test::check_gradient;
using tessera::test::expect_invalid;
using tessera::test::fill_uniform;
using tessera::test::weighted_sum;

namespace {

// A Dense layer with its own parameter buffers, as a Sequential would give it.
struct BoundDense {
  Dense layer;
  Tensor params, grads;
  BoundDense(std::int64_t in, std::int64_t out, std::uint64_t seed)
      : layer(in, out), params(Shape{in * out + out}), grads(Shape{in * out + out}) {
    layer.connect(Shape{in});
    layer.bind(params.data(), grads.data());
    Rng rng(seed);
    layer.initialize(Init::Normal, rng);  // nonzero biases too
  }
};

struct Dims {
  std::int64_t batch, in, out;
};

}  // namespace

BOOST_AUTO_TEST_CASE(forward_matches_reference_with_every_fused_activation) {
  std::mt19937_64 rng(1);
  for (const Dims d : {Dims{1, 1, 1}, Dims{3, 5, 7}, Dims{17, 33, 10}, Dims{128, 100, 50}, Dims{31, 784, 13}}) {
    for (Activation act : {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh}) {
      BoundDense dense(d.in, d.out, 7);
      if (act != Activation::Identity) BOOST_TEST(dense.layer.fuse(act));
      Tensor x(Shape{d.batch, d.in}), y(Shape{d.batch, d.out});
      fill_uniform(x, rng);
      dense.layer.forward(x, y);
      const Tensor w = dense.layer.weights(), b = dense.layer.bias();
      double worst = 0.0;
      for (std::int64_t r = 0; r < d.batch; ++r) {
        for (std::int64_t j = 0; j < d.out; ++j) {
          double z = static_cast<double>(b[j]), mag = std::abs(z);
          for (std::int64_t k = 0; k < d.in; ++k) {
            z += static_cast<double>(x.at(r, k)) * static_cast<double>(w.at(k, j));
            mag += std::abs(static_cast<double>(x.at(r, k)) * static_cast<double>(w.at(k, j)));
          }
          worst = std::max(
              worst, std::abs(static_cast<double>(y.at(r, j)) - test::reference_activation(act, z)) / (mag + 1.0));
        }
      }
      BOOST_TEST(worst < 1e-5, "Dense(" << d.in << ", " << d.out << ") batch " << d.batch << " activation "
                                        << static_cast<int>(act) << ": relative error " << worst);
    }
  }
}

BOOST_AUTO_TEST_CASE(gradients_match_central_differences) {
  std::mt19937_64 rng(2);
  for (const Dims d : {Dims{1, 1, 1}, Dims{3, 5, 7}, Dims{17, 33, 10}, Dims{4, 70, 3}}) {
    BoundDense dense(d.in, d.out, 11);
    Tensor x(Shape{d.batch, d.in}), y(Shape{d.batch, d.out}), r(Shape{d.batch, d.out}), dx(Shape{d.batch, d.in});
    fill_uniform(x, rng);
    fill_uniform(r, rng);
    dense.layer.forward(x, y);
    dense.layer.backward(x, y, r, &dx, false);
    const auto loss = [&] {
      dense.layer.forward(x, y);
      return weighted_sum(y, r);
    };
    const std::string name = dense.layer.name() + " batch " + std::to_string(d.batch);
    check_gradient(name + " dW", dense.layer.weights().data(), dense.layer.weight_gradients().data(), d.in * d.out,
                   loss);
    check_gradient(name + " db", dense.layer.bias().data(), dense.layer.bias_gradients().data(), d.out, loss);
    check_gradient(name + " dx", x.data(), dx.data(), x.size(), loss);
  }
}

BOOST_AUTO_TEST_CASE(backward_accumulates_on_request_and_skips_dx_when_null) {
  std::mt19937_64 rng(3);
  BoundDense dense(9, 6, 5);
  Tensor x(Shape{4, 9}), y(Shape{4, 6}), dy(Shape{4, 6});
  fill_uniform(x, rng);
  fill_uniform(dy, rng);
  dense.layer.forward(x, y);
  dense.layer.backward(x, y, dy, nullptr, false);
  const Tensor once = dense.grads;
  dense.layer.backward(x, y, dy, nullptr, true);
  for (std::int64_t i = 0; i < once.size(); ++i) {
    BOOST_TEST(dense.grads[i] == 2.0f * once[i], "gradient " << i);
  }
  dense.layer.backward(x, y, dy, nullptr, false);
  for (std::int64_t i = 0; i < once.size(); ++i) BOOST_TEST(dense.grads[i] == once[i]);
}

// A first layer reading mostly-zero data multiplies only the nonzeros: the same results as the dense
// path (to rounding) for widths around every vector and block edge, rows with no nonzero at all,
// accumulation, and batches too dense for it.
BOOST_DATA_TEST_CASE(sparse_inputs_match_the_dense_path, boost::unit_test::data::make(test::supported_isas()), isa) {
  test::IsaScope scope(isa);
  std::mt19937_64 rng(5);
  std::bernoulli_distribution nonzero(0.2);
  for (const Dims d : {Dims{7, 30, 1}, Dims{16, 50, 7}, Dims{33, 100, 16}, Dims{20, 64, 17}, Dims{128, 784, 100},
                       Dims{9, 40, 129}, Dims{5, 300, 300}}) {
    BoundDense sparse(d.in, d.out, 3), dense(d.in, d.out, 3);
    sparse.layer.set_reads_data(true);
    BOOST_TEST(sparse.layer.fuse(Activation::Sigmoid));
    BOOST_TEST(dense.layer.fuse(Activation::Sigmoid));
    Tensor x(Shape{d.batch, d.in}), dy(Shape{d.batch, d.out});
    fill_uniform(x, rng);
    fill_uniform(dy, rng);
    for (std::int64_t i = 0; i < x.size(); ++i) {
      if (!nonzero(rng)) x[i] = 0.0f;
    }
    for (std::int64_t j = 0; j < d.in; ++j) x.at(0, j) = 0.0f;  // an empty row
    Tensor ys(Shape{d.batch, d.out}), yd(Shape{d.batch, d.out});
    sparse.layer.forward(x, ys);
    dense.layer.forward(x, yd);
    for (std::int64_t i = 0; i < ys.size(); ++i) BOOST_REQUIRE_SMALL(ys[i] - yd[i], 1e-5f);
    for (bool accumulate : {false, true}) {
      sparse.layer.backward(x, ys, dy, nullptr, accumulate);
      dense.layer.backward(x, yd, dy, nullptr, accumulate);
      for (std::int64_t i = 0; i < sparse.grads.size(); ++i) {
        BOOST_REQUIRE_SMALL(sparse.grads[i] - dense.grads[i], 1e-5f * (1.0f + std::abs(dense.grads[i])));
      }
    }
  }
  // Too dense for the compressed path: the same answers through the dense one.
  BoundDense sparse(20, 10, 4), dense(20, 10, 4);
  sparse.layer.set_reads_data(true);
  Tensor x(Shape{6, 20}), ys(Shape{6, 10}), yd(Shape{6, 10});
  fill_uniform(x, rng);
  sparse.layer.forward(x, ys);
  dense.layer.forward(x, yd);
  for (std::int64_t i = 0; i < ys.size(); ++i) BOOST_TEST(ys[i] == yd[i]);
}

BOOST_AUTO_TEST_CASE(bias_gradient_is_the_column_sum_in_row_order) {
  // Many rows and more columns than one block: the parallel column split must give the serial sums.
  std::mt19937_64 rng(4);
  const std::int64_t batch = 300, in = 3, out = 1000;
  BoundDense dense(in, out, 1);
  Tensor x(Shape{batch, in}), y(Shape{batch, out}), dy(Shape{batch, out});
  fill_uniform(x, rng);
  fill_uniform(dy, rng);
  dense.layer.backward(x, y, dy, nullptr, false);
  const Tensor db = dense.layer.bias_gradients();
  for (std::int64_t j = 0; j < out; ++j) {
    float s = 0.0f;
    for (std::int64_t r = 0; r < batch; ++r) s += dy.at(r, j);
    BOOST_TEST(db[j] == s, "column " << j);
  }
}

BOOST_AUTO_TEST_CASE(bad_sizes_and_shapes_throw_clear_errors) {
  expect_invalid([] { Dense(0, 3); }, "Dense(0, 3)");
  expect_invalid([] { Dense(4, -1); }, "must be >= 1");
  BoundDense dense(4, 3, 1);
  Tensor x(Shape{2, 5}), y(Shape{2, 3});
  expect_invalid([&] { dense.layer.forward(x, y); }, "input must have shape [2, 4]");
  Tensor x_ok(Shape{2, 4}), y_bad(Shape{3, 3});
  expect_invalid([&] { dense.layer.forward(x_ok, y_bad); }, "output must have shape [2, 3], got [3, 3]");
  Tensor dy_bad(Shape{2, 4}), dx(Shape{2, 4});
  expect_invalid([&] { dense.layer.backward(x_ok, y, dy_bad, &dx, false); }, "output gradient");
  expect_invalid([&] { Dense(4, 3).connect(Shape{5}); }, "takes inputs of shape [4], got [5]");
  Dense unbound(2, 2);
  unbound.connect(Shape{2});
  Tensor a(Shape{1, 2}), b(Shape{1, 2});
  BOOST_CHECK_THROW(unbound.forward(a, b), std::logic_error);
}

BOOST_AUTO_TEST_CASE(has_no_random_state) {
  Dense d(2, 3);
  BOOST_TEST(d.random_state().empty());
  d.set_random_state({});
  test::expect_invalid([&] { d.set_random_state({1}); }, "Dense(2, 3) has no random state, but was given 1 values");
}
