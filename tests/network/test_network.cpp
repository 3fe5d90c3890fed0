// Sequential: building and its shape errors, the flat buffers, whole-network gradients by central
// differences (fused Dense+activation pairs included), zero_grad semantics, bit-identical training at
// 1, 2 and 7 threads, no allocation in a training step, and learning XOR.
#define BOOST_TEST_MODULE network
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/allocation_counter.hpp"
#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "support/threads.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;
using tessera::test::check_gradient;
using tessera::test::expect_error;
using tessera::test::fill_uniform;

namespace {

std::vector<std::int32_t> random_labels(std::int64_t n, std::int32_t classes, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::int32_t> dist(0, classes - 1);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (auto& l : labels) l = dist(rng);
  return labels;
}

// One training step: forward, loss into the network's gradient buffer, backward, update.
float train_step(Sequential& net, Optimizer& opt, const Loss& loss, const Tensor& x,
                 const std::vector<std::int32_t>& labels) {
  opt.zero_grad();
  const Tensor& y = net.forward(x);
  const float value = loss.compute(y, labels, &net.output_gradient());
  net.backward(net.output_gradient());
  opt.step();
  return value;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(building)

BOOST_AUTO_TEST_CASE(shapes_and_the_flat_buffers) {
  Sequential net(Dense(784, 100), Sigmoid(), Dense(100, 50), Sigmoid(), Dense(50, 10));
  BOOST_TEST(net.size() == 5u);
  BOOST_TEST((net.in_shape() == Shape{784}));
  BOOST_TEST((net.out_shape() == Shape{10}));
  BOOST_TEST(net.parameter_count() == 784 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10);
  Tensor params = net.parameters();
  BOOST_TEST(params.size() == net.parameter_count());
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(params.data()) % kTensorAlignment == 0u);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(net.gradients().data()) % kTensorAlignment == 0u);
  // Layers hold views into the one buffer, in order.
  auto& second = dynamic_cast<Dense&>(net.layer(2));
  BOOST_TEST(second.weights().data() == params.data() + 784 * 100 + 100);
  BOOST_TEST(second.weight_gradients().data() == net.gradients().data() + 784 * 100 + 100);
  BOOST_TEST(net.summary().find("Dense(100, 50)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mismatches_throw_with_both_layers_and_shapes) {
  expect_error<std::invalid_argument>([] { Sequential(Dense(784, 200), ReLU(), Dense(100, 10)); },
                                      "layer 2 Dense(100, 10) cannot follow layer 1 ReLU, whose output has shape "
                                      "[200]: Dense(100, 10) takes inputs of shape [100], got [200]");
  expect_error<std::invalid_argument>([] { Sequential(ReLU(), Dense(3, 2)); }, "the first layer, ReLU");
  expect_error<std::invalid_argument>([] { Sequential(Dense(3, 0)); }, "Dense(3, 0)");
  expect_error<std::invalid_argument>([] { Sequential(Dense(4, 3), Dense(3, 2), Softmax(), Dense(3, 1)); },
                                      "cannot follow layer 2 Softmax");

  Sequential net(Dense(4, 3), Tanh());
  Tensor wrong(Shape{5, 6});
  expect_error<std::invalid_argument>([&] { net.forward(wrong); },
                                      "input must have shape [5, 4] (batch first), got [5, 6]");
  expect_error<std::logic_error>([&] { net.backward(Tensor(Shape{5, 3})); }, "call forward first");
  Tensor x(Shape{5, 4});
  net.forward(x);
  expect_error<std::invalid_argument>(
      [&] {
        net.backward(Tensor(Shape{4, 3}));
      },
      "d_output must have the shape of the last output, [5, 3], got [4, 3]");
  expect_error<std::logic_error>([&] { net.add(Dense(3, 3)); }, "already built");
  expect_error<std::logic_error>([] { Sequential().forward(Tensor(Shape{1, 1})); }, "no layers");
}

BOOST_AUTO_TEST_CASE(initialisation_is_fixed_by_the_seed) {
  Sequential a(Dense(30, 20), ReLU(), Dense(20, 5));
  Sequential b(Dense(30, 20), ReLU(), Dense(20, 5));
  a.initialize(99, Init::He);
  test::run_on_threads(2, [&] { b.initialize(99, Init::He); });
  const Tensor pa = a.parameters(), pb = b.parameters();
  BOOST_TEST(std::memcmp(pa.data(), pb.data(), static_cast<std::size_t>(pa.size()) * sizeof(float)) == 0);
  b.initialize(100, Init::He);
  BOOST_TEST(std::memcmp(pa.data(), pb.data(), static_cast<std::size_t>(pa.size()) * sizeof(float)) != 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gradients)

// ∂loss/∂θ for every parameter (sampled where there are many) and ∂loss/∂x, by central differences
// of the whole network's loss.
void check_network(Sequential& net, const Loss& loss, std::int64_t batch, const test::Tolerance& tol,
                   const std::string& what) {
  std::mt19937_64 rng(5);
  Tensor x(net.in_shape().with_batch(batch));
  fill_uniform(x, rng);
  const auto labels = random_labels(batch, static_cast<std::int32_t>(net.out_shape()[0]), rng);
  Tensor dx(x.shape());
  net.zero_grad();
  loss.compute(net.forward(x), labels, &net.output_gradient());
  net.backward(net.output_gradient(), &dx);
  const Tensor analytic = net.gradients().clone();
  const auto f = [&] { return static_cast<double>(loss.compute(net.forward(x), labels, nullptr)); };
  check_gradient(what + " parameters", net.parameters().data(), analytic.data(), analytic.size(), f, tol, 600);
  check_gradient(what + " input", x.data(), dx.data(), x.size(), f, tol);
}

BOOST_AUTO_TEST_CASE(sigmoid_mse_network) {
  Sequential net(Dense(12, 9), Sigmoid(), Dense(9, 7), Sigmoid(), Dense(7, 4), Sigmoid());
  net.initialize(1, Init::Normal);
  check_network(net, MSE(), 5, {1e-2, 1e-4, 1e-2}, "sigmoid/MSE");
}

BOOST_AUTO_TEST_CASE(relu_tanh_cross_entropy_network) {
  // ReLU has kinks: differences that straddle one are skipped (at most 5% of them).
  Sequential net(Dense(10, 16), ReLU(), Dense(16, 8), Tanh(), Dense(8, 6), Identity(), Dense(6, 5));
  net.initialize(2, Init::He);
  check_network(net, SoftmaxCrossEntropy(), 6, {1e-3, 2e-4, 1e-2, 1e-5}, "ReLU/tanh/CE");
}

BOOST_AUTO_TEST_CASE(mostly_zero_inputs) {
  // The first layer's compressed path for data that is mostly zeros (as images are).
  Sequential net(Dense(40, 9), Sigmoid(), Dense(9, 4));
  net.initialize(4, Init::Normal);
  std::mt19937_64 rng(11);
  Tensor x(Shape{6, 40});
  fill_uniform(x, rng);
  for (std::int64_t i = 0; i < x.size(); ++i) {
    if (i % 4 != 0) x[i] = 0.0f;
  }
  const auto labels = random_labels(6, 4, rng);
  const SoftmaxCrossEntropy ce;
  net.zero_grad();
  ce.compute(net.forward(x), labels, &net.output_gradient());
  net.backward(net.output_gradient());
  const Tensor analytic = net.gradients().clone();
  const auto f = [&] { return static_cast<double>(ce.compute(net.forward(x), labels, nullptr)); };
  check_gradient("sparse-input parameters", net.parameters().data(), analytic.data(), analytic.size(), f,
                 {1e-2, 1e-4, 1e-2});
}

BOOST_AUTO_TEST_CASE(unfused_activation_first_and_softmax_last) {
  // An activation that follows another activation is not fused; Softmax's backward is exercised.
  Sequential net(Dense(6, 5), Tanh(), Sigmoid(), Dense(5, 4), Softmax());
  net.initialize(3, Init::Normal);
  check_network(net, MSE(), 3, {1e-2, 1e-4, 1e-2}, "tanh+sigmoid/softmax/MSE");
}

BOOST_AUTO_TEST_CASE(convolutional_network) {
  // Conv+tanh fused, pooling, a strided convolution, Flatten into Dense. (With ReLU, hundreds of kinks
  // lie within a step of any first-layer weight; the next case covers ReLU before pooling.)
  Sequential net(Shape{9, 9, 2});
  net.add(Conv2D(2, 3, 3, 1, 1)).add(Tanh()).add(MaxPool2D(2)).add(Conv2D(3, 3, 3, 2, 1)).add(Tanh());
  net.add(Flatten()).add(Dense(12, 5));
  BOOST_TEST((net.out_shape() == Shape{5}));
  net.initialize(6, Init::He);
  check_network(net, SoftmaxCrossEntropy(), 2, {1e-3, 2e-4, 1e-2, 1e-5}, "conv/tanh/pool/conv/tanh/dense");
}

BOOST_AUTO_TEST_CASE(pooling_applies_a_relus_derivative_as_the_relu_would) {
  // Conv, ReLU (fused), MaxPool: the pooling applies the ReLU's derivative. With an Identity between
  // them, the ReLU's own backward does: the gradients must be the same, bit for bit.
  std::mt19937_64 rng(13);
  Tensor x(Shape{5, 10, 10, 3});
  fill_uniform(x, rng);
  const auto labels = random_labels(5, 4, rng);
  std::vector<Tensor> grads;
  Tensor params;
  for (bool identity : {false, true}) {
    Sequential net(Shape{10, 10, 3});
    net.add(Conv2D(3, 6, 3)).add(ReLU());
    if (identity) net.add(Identity());
    net.add(MaxPool2D(2)).add(Flatten()).add(Dense(96, 4));
    net.initialize(8, Init::He);
    // The same parameters in both (the Dense layer's index, and so its random stream, differs).
    if (identity) std::copy(params.data(), params.data() + params.size(), net.parameters().data());
    params = net.parameters().clone();
    SoftmaxCrossEntropy ce;
    Tensor dx(x.shape());
    net.zero_grad();
    ce.compute(net.forward(x), labels, &net.output_gradient());
    net.backward(net.output_gradient(), &dx);
    grads.push_back(net.gradients().clone());
    grads.push_back(dx);
  }
  for (std::size_t i = 0; i < 2; ++i) {
    BOOST_TEST(std::memcmp(grads[i].data(), grads[i + 2].data(), static_cast<std::size_t>(grads[i].size()) * 4) == 0);
  }
}

BOOST_AUTO_TEST_CASE(a_relu_first_then_pooling_gives_the_input_gradient) {
  // The ReLU is the first layer (nothing to fuse into), and the pooling after it applies its
  // derivative: the input gradient skips the ReLU's buffer.
  Sequential net(Shape{6, 6, 2});
  net.add(ReLU()).add(MaxPool2D(2)).add(Flatten()).add(Dense(18, 3));
  net.initialize(7, Init::Normal);
  check_network(net, SoftmaxCrossEntropy(), 2, {1e-3, 2e-4, 1e-2, 1e-5}, "ReLU/pool/dense");
}

BOOST_AUTO_TEST_CASE(zero_grad_overwrites_and_otherwise_backward_adds) {
  Sequential net(Dense(5, 4), Sigmoid(), Dense(4, 3));
  std::mt19937_64 rng(6);
  Tensor x(Shape{2, 5});
  fill_uniform(x, rng);
  const auto labels = random_labels(2, 3, rng);
  const SoftmaxCrossEntropy ce;
  const auto run = [&] {
    ce.compute(net.forward(x), labels, &net.output_gradient());
    net.backward(net.output_gradient());
  };
  net.zero_grad();
  run();
  const Tensor once = net.gradients().clone();
  run();
  const Tensor twice = net.gradients().clone();
  net.zero_grad();
  for (std::int64_t i = 0; i < twice.size(); ++i) BOOST_TEST(twice[i] == 2.0f * once[i]);
  const Tensor cleared = net.gradients();
  for (std::int64_t i = 0; i < cleared.size(); ++i) BOOST_TEST(cleared[i] == 0.0f);
  run();
  const Tensor again = net.gradients();
  for (std::int64_t i = 0; i < again.size(); ++i) BOOST_TEST(again[i] == once[i]);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(training)

// 50 steps of the same training at 1, 2 and 7 threads: bit-identical parameters. Layers wide enough
// that gemm, the bias sums and the optimizer all split their work.
BOOST_AUTO_TEST_CASE(bit_identical_parameters_at_1_2_and_7_threads) {
  std::mt19937_64 rng(8);
  const std::int64_t batch = 97;
  Tensor x(Shape{batch, 300});
  fill_uniform(x, rng);
  // Mostly zeros, like images: the first layer takes its compressed path, split over threads too.
  for (std::int64_t i = 0; i < x.size(); ++i) {
    if (i % 5 != 0) x[i] = 0.0f;
  }
  const auto labels = random_labels(batch, 10, rng);
  for (int which : {0, 1}) {
    std::vector<Tensor> results;
    for (int threads : {1, 2, 7}) {
      test::run_on_threads(threads, [&] {
        Sequential net(Dense(300, 512), ReLU(), Dense(512, 256), Tanh(), Dense(256, 10));
        net.initialize(1234, Init::He);
        SoftmaxCrossEntropy ce;
        std::unique_ptr<Optimizer> opt;
        if (which == 0) {
          opt = std::make_unique<SGD>(net, SGDOptions(0.05f).momentum(0.9f).nesterov(true).weight_decay(1e-4f));
        } else {
          opt = std::make_unique<Adam>(net, AdamOptions(1e-3f).weight_decay(0.01f).schedule(LRSchedule::cosine(50)));
        }
        for (int step = 0; step < 50; ++step) train_step(net, *opt, ce, x, labels);
        results.push_back(net.parameters().clone());
      });
    }
    for (std::size_t i = 1; i < results.size(); ++i) {
      BOOST_TEST(std::memcmp(results[0].data(), results[i].data(),
                             static_cast<std::size_t>(results[0].size()) * sizeof(float)) == 0,
                 (which == 0 ? "SGD" : "Adam") << ": run " << i << " differs from 1 thread");
    }
  }
}

BOOST_AUTO_TEST_CASE(cnn_training_is_bit_identical_at_1_2_and_7_threads) {
  std::mt19937_64 rng(12);
  const std::int64_t batch = 40;  // several image groups per convolution
  Tensor x(Shape{batch, 20, 20, 1});
  fill_uniform(x, rng, 0.0f, 1.0f);
  const auto labels = random_labels(batch, 10, rng);
  std::vector<Tensor> results;
  for (int threads : {1, 2, 7}) {
    test::run_on_threads(threads, [&] {
      Sequential net(Shape{20, 20, 1});
      net.add(Conv2D(1, 8, 5)).add(ReLU()).add(MaxPool2D(2)).add(Conv2D(8, 16, 3, 1, 1)).add(ReLU());
      net.add(MaxPool2D(2)).add(Flatten()).add(Dropout(0.25f)).add(Dense(256, 10));
      net.initialize(77, Init::He);
      Adam opt(net, AdamOptions(1e-3f));
      SoftmaxCrossEntropy ce;
      for (int step = 0; step < 5; ++step) train_step(net, opt, ce, x, labels);
      results.push_back(net.parameters().clone());
    });
  }
  for (std::size_t i = 1; i < results.size(); ++i) {
    BOOST_TEST(std::memcmp(results[0].data(), results[i].data(),
                           static_cast<std::size_t>(results[0].size()) * sizeof(float)) == 0,
               "run " << i << " differs from 1 thread");
  }
}

BOOST_AUTO_TEST_CASE(a_training_step_allocates_nothing) {
  std::mt19937_64 rng(9);
  Sequential net(Dense(784, 128), ReLU(), Dense(128, 64), Sigmoid(), Dense(64, 10));
  Adam opt(net, AdamOptions());
  SoftmaxCrossEntropy ce;
  Tensor x(Shape{128, 784});
  fill_uniform(x, rng);
  const auto labels = random_labels(128, 10, rng);
  // Mostly zeros, like images, so the first layer's compressed path runs too.
  Tensor sparse = x.clone();
  for (std::int64_t i = 0; i < sparse.size(); ++i) {
    if (i % 5 != 0) sparse[i] = 0.0f;
  }
  const Tensor last = x.rows(0, 37);  // an epoch's smaller last batch reuses the same buffers
  const std::vector<std::int32_t> last_labels(labels.begin(), labels.begin() + 37);
  for (int warm = 0; warm < 2; ++warm) {
    train_step(net, opt, ce, x, labels);
    train_step(net, opt, ce, sparse, labels);
  }
  if (!test::AllocationCounter::available()) {
    BOOST_TEST_MESSAGE("allocation counting skipped: ThreadSanitizer owns operator new");
    return;
  }
  long allocations = 0;
  {
    test::AllocationCounter counter;
    for (int step = 0; step < 5; ++step) {
      train_step(net, opt, ce, x, labels);
      train_step(net, opt, ce, sparse, labels);
    }
    train_step(net, opt, ce, last, last_labels);
    train_step(net, opt, ce, sparse.rows(0, 37), last_labels);
    allocations = counter.count();
  }
  BOOST_TEST(allocations == 0);
}

BOOST_AUTO_TEST_CASE(learns_xor) {
  // The original program's first test: 2-4-1 sigmoid network, MSE, plain SGD.
  Sequential net(Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid());
  net.initialize(7, Init::XavierUniform);
  SGD opt(net, SGDOptions(2.0f).momentum(0.9f));
  Tensor x(Shape{4, 2}), target(Shape{4, 1});
  const float inputs[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  for (int i = 0; i < 4; ++i) {
    x.at(i, 0) = inputs[i][0];
    x.at(i, 1) = inputs[i][1];
    target[i] = (inputs[i][0] != inputs[i][1]) ? 1.0f : 0.0f;
  }
  const MSE mse;
  float loss = 0.0f;
  for (int epoch = 0; epoch < 2000; ++epoch) {
    opt.zero_grad();
    loss = mse.compute(net.forward(x), target, &net.output_gradient());
    net.backward(net.output_gradient());
    opt.step();
  }
  const Tensor& y = net.forward(x);
  for (int i = 0; i < 4; ++i) BOOST_TEST((y[i] > 0.5f) == (target[i] > 0.5f), "input " << i << ": " << y[i]);
  BOOST_TEST(loss < 0.01f);
}

BOOST_AUTO_TEST_CASE(profile_counts_layers_and_gemm_time) {
  Sequential net(Dense(64, 32), ReLU(), Dense(32, 10));
  net.set_profiling(true);
  SGD opt(net, SGDOptions(0.1f));
  std::mt19937_64 rng(10);
  Tensor x(Shape{16, 64});
  fill_uniform(x, rng);
  const auto labels = random_labels(16, 10, rng);
  for (int i = 0; i < 3; ++i) train_step(net, opt, SoftmaxCrossEntropy(), x, labels);
  const auto profile = net.profile();
  BOOST_REQUIRE(profile.size() == 3u);
  BOOST_TEST(profile[1].name == "ReLU (fused)");
  BOOST_TEST(profile[0].forward_calls == 3);
  BOOST_TEST(profile[0].backward_calls == 3);
  BOOST_TEST(profile[0].gemm_seconds > 0.0);
  BOOST_TEST(profile[0].gemm_seconds <= profile[0].forward_seconds + profile[0].backward_seconds);
  net.reset_profile();
  BOOST_TEST(net.profile()[0].gemm_seconds == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
