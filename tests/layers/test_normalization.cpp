// BatchNorm and LayerNorm: values against double-precision references, every gradient (dx, gamma,
// beta) by central differences in training mode (and BatchNorm's in evaluation), BatchNorm's running
// statistics as PyTorch moves them, kept as buffers (saved, not trained), bit-identical at 1, 2 and 3
// threads, a training step that allocates nothing, and the argument checks.
#define BOOST_TEST_MODULE normalization
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "support/allocation_counter.hpp"
#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "support/network_gradients.hpp"
#include "support/temp_dir.hpp"
#include "support/threads.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;

namespace {
// A network of one normalisation layer between two Dense layers, for gradient checks through it.
Sequential around(std::unique_ptr<Layer> norm, std::int64_t features) {
  Sequential net;
  net.add(Dense(5, features)).add(std::move(norm)).add(Dense(features, 3));
  net.initialize(2, Init::Normal);
  // gamma and beta away from 1 and 0, so their gradients matter.
  Tensor p = net.parameters();
  std::mt19937_64 rng(9);
  const std::int64_t first = 5 * features + features;
  for (std::int64_t i = first; i < first + 2 * features; ++i)
    p[i] = std::uniform_real_distribution<float>(0.5f, 1.5f)(rng);
  return net;
}

}  // namespace

BOOST_AUTO_TEST_CASE(batch_norm_normalises_each_channel_over_the_batch_and_positions) {
  // NHWC images: the statistics of each channel over batch × height × width.
  Sequential net(Shape{3, 4, 5});
  net.add(BatchNorm(5, 0.3f));
  net.initialize(1);
  Tensor x(Shape{6, 3, 4, 5});
  std::mt19937_64 rng(1);
  test::fill_uniform(x, rng, -3.0f, 5.0f);
  const Tensor& y = net.forward(x);
  const std::int64_t rows = 6 * 12;
  for (std::int64_t c = 0; c < 5; ++c) {
    double sum = 0.0, sq = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) sum += static_cast<double>(x[r * 5 + c]);
    const double mean = sum / rows;
    for (std::int64_t r = 0; r < rows; ++r) sq += std::pow(static_cast<double>(x[r * 5 + c]) - mean, 2);
    const double var = sq / rows;
    double worst = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const double expected = (static_cast<double>(x[r * 5 + c]) - mean) / std::sqrt(var + 1e-5);
      worst = std::max(worst, std::abs(expected - static_cast<double>(y[r * 5 + c])));
    }
    BOOST_TEST(worst < 1e-5);
    // The running statistics moved by momentum 0.3 from (0, 1), the variance unbiased.
    const Tensor running = net.buffers();
    BOOST_TEST(static_cast<double>(running[c]) == 0.3 * mean, boost::test_tools::tolerance(1e-5));
    BOOST_TEST(static_cast<double>(running[5 + c]) == 0.7 + 0.3 * var * rows / (rows - 1),
               boost::test_tools::tolerance(1e-5));
  }
  // Evaluation uses the running statistics.
  net.eval();
  const Tensor& e = net.forward(x);
  const Tensor running = net.buffers();
  BOOST_TEST(static_cast<double>(e[7]) == (static_cast<double>(x[7]) - static_cast<double>(running[2])) /
                                              std::sqrt(static_cast<double>(running[7]) + 1e-5),
             boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(gradients_match_central_differences) {
  Sequential train_mode = around(std::make_unique<BatchNorm>(6), 6);
  test::check_network_gradients(train_mode, "BatchNorm (training)", 12);
  Sequential eval_mode = around(std::make_unique<BatchNorm>(6), 6);
  // Running statistics of a few batches, then evaluation: a fixed affine map per channel.
  Tensor warm(Shape{12, 5});
  std::mt19937_64 rng(5);
  for (int i = 0; i < 3; ++i) {
    test::fill_uniform(warm, rng);
    eval_mode.forward(warm);
  }
  eval_mode.eval();
  test::check_network_gradients(eval_mode, "BatchNorm (evaluation)", 12);
  Sequential layer_norm = around(std::make_unique<LayerNorm>(6), 6);
  test::check_network_gradients(layer_norm, "LayerNorm", 12);
}

BOOST_AUTO_TEST_CASE(layer_norm_normalises_each_row) {
  LayerNorm norm(7);
  Sequential net(Shape{3, 7});
  net.add(LayerNorm(7));
  net.initialize(1);
  Tensor x(Shape{2, 3, 7});
  std::mt19937_64 rng(3);
  test::fill_uniform(x, rng, -4.0f, 9.0f);
  const Tensor& y = net.forward(x);
  for (std::int64_t r = 0; r < 6; ++r) {
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < 7; ++i) sum += static_cast<double>(y[r * 7 + i]);
    for (int i = 0; i < 7; ++i) sq += static_cast<double>(y[r * 7 + i]) * static_cast<double>(y[r * 7 + i]);
    BOOST_TEST(std::abs(sum / 7) < 1e-5);
    BOOST_TEST(sq / 7 == 1.0, boost::test_tools::tolerance(1e-3));  // eps makes it a hair below 1
  }
  BOOST_TEST(net.buffer_count() == 0);
  BOOST_TEST(net.parameter_count() == 14);
}

BOOST_AUTO_TEST_CASE(statistics_are_buffers_saved_and_never_trained) {
  Sequential net(Dense(4, 8), BatchNorm(8), ReLU(), Dense(8, 2));
  net.initialize(3, Init::He);
  BOOST_TEST(net.buffer_count() == 16);
  BOOST_TEST(net.parameter_count() == 4 * 8 + 8 + 16 + 8 * 2 + 2);
  std::vector<float> features, values;
  Rng rng(2, 0);
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j < 4; ++j) features.push_back(static_cast<float>(rng.uniform(-1.0, 1.0)));
    values.push_back(features[features.size() - 4] - features.back());
  }
  const data::Dataset d(features, Shape{4}, data::Targets::values(values));
  std::vector<float> targets2;
  for (float v : values) targets2.insert(targets2.end(), {v, -v});
  const data::Dataset d2(features, Shape{4}, data::Targets::values(targets2, 2));
  Adam opt(net, AdamOptions(1e-2f).weight_decay(0.5f));
  TrainerOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.progress = Progress::None;
  Trainer(net, MSE(), opt, o).fit(d2, nullptr);
  // The running statistics moved (they are updated by forward, not by the optimizer).
  const Tensor running = net.buffers();
  BOOST_TEST(running[0] != 0.0f);
  test::TempDir dir;
  save_model(dir / "bn.tsr", net);
  LoadedModel back = load_model(dir / "bn.tsr");
  BOOST_TEST(std::memcmp(back.network.buffers().data(), running.data(), 16 * sizeof(float)) == 0);
  Tensor x(Shape{3, 4});
  for (int i = 0; i < 12; ++i) x[i] = features[static_cast<std::size_t>(i)];
  net.eval();
  back.network.eval();
  const Tensor a = net.forward(x).clone();
  const Tensor& b = back.network.forward(x);
  BOOST_TEST(std::memcmp(a.data(), b.data(), 6 * sizeof(float)) == 0);
  BOOST_TEST(make_layer(BatchNorm(8, 0.05f, 1e-3f).spec())->name() == "BatchNorm(8, momentum 0.05, eps 0.001)");
  BOOST_TEST(make_layer(LayerNorm(5, 1e-6f).spec())->name() == "LayerNorm(5, eps 1e-06)");
}

BOOST_AUTO_TEST_CASE(bit_identical_at_1_2_and_3_threads_and_no_allocation_in_a_step) {
  Tensor first_params, first_buffers;
  for (int threads : {1, 2, 3}) {
    Sequential net(Shape{8, 8, 16});
    net.add(BatchNorm(16)).add(ReLU()).add(Flatten()).add(Dense(1024, 32)).add(LayerNorm(32)).add(Dense(32, 4));
    net.initialize(5, Init::He);
    Tensor x(Shape{64, 8, 8, 16}), target(Shape{64, 4});
    std::mt19937_64 rng(8);
    test::fill_uniform(x, rng);
    test::fill_uniform(target, rng);
    SGD opt(net, SGDOptions(0.05f).momentum(0.9f));
    const MSE loss;
    test::run_on_threads(threads, [&] {
      for (int step = 0; step < 5; ++step) {
        const test::AllocationCounter count;
        opt.zero_grad();
        loss.compute(net.forward(x), target, &net.output_gradient());
        net.backward(net.output_gradient());
        opt.step();
        if (step > 0 && test::AllocationCounter::available()) {
          BOOST_TEST(count.count() == 0, threads << " threads, step " << step);
        }
      }
    });
    if (threads == 1) {
      first_params = net.parameters().clone();
      first_buffers = net.buffers().clone();
      continue;
    }
    BOOST_TEST(std::memcmp(net.parameters().data(), first_params.data(), 4 * first_params.size()) == 0, threads);
    BOOST_TEST(std::memcmp(net.buffers().data(), first_buffers.data(), 4 * first_buffers.size()) == 0, threads);
  }
}

BOOST_AUTO_TEST_CASE(bad_settings_and_shapes_throw) {
  test::expect_invalid([] { BatchNorm(0); }, "the size must be >= 1");
  test::expect_invalid([] { BatchNorm(3, 1.5f); }, "momentum must be in [0, 1]");
  test::expect_invalid([] { LayerNorm(3, 0.0f); }, "eps finite and > 0");
  test::expect_invalid([] { Sequential(Shape{4, 5}).add(BatchNorm(4)); }, "normalises a last extent of 4, got [4, 5]");
  Sequential one(Dense(2, 3), BatchNorm(3));
  one.initialize(1);
  Tensor x(Shape{1, 2});
  test::expect_invalid([&] { one.forward(x); }, "training needs more than one value per channel");
}
