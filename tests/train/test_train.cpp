// The Trainer on the committed MNIST sample: it learns (a stated accuracy), it is reproducible,
// divergence stops with an error naming epoch and step, and its reports have the promised form.
#define BOOST_TEST_MODULE train
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <numeric>
#include <sstream>
#include <string>

#include "support/expect_error.hpp"
#include "support/mnist_sample.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;
using tessera::test::expect_error;

namespace {
const data::Split& sample() { return test::mnist_sample(); }

Sequential mlp() {
  Sequential net(Dense(784, 128), ReLU(), Dense(128, 10));
  net.initialize(1, Init::He);
  return net;
}
}  // namespace

BOOST_AUTO_TEST_CASE(learns_the_sample_and_reports_each_epoch) {
  Sequential net = mlp();
  Adam opt(net, AdamOptions(1e-3f));
  SoftmaxCrossEntropy loss;
  std::ostringstream out;
  TrainerOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  options.progress = Progress::Lines;
  options.out = &out;
  int calls = 0;
  options.on_epoch = [&](const EpochStats& s) { calls += s.epoch == calls + 1; };
  Trainer trainer(net, loss, opt, options);
  const auto history = trainer.fit(sample().train, &sample().test);
  BOOST_REQUIRE(history.size() == 4u);
  BOOST_TEST(calls == 4);
  // 3000 images of 64: 46 full batches and a last one of 56, all trained.
  BOOST_TEST(history.back().examples == 3000);
  BOOST_TEST(history.back().evaluated);
  // Stated accuracy: a 784-128-10 ReLU network reaches 90% on the 500 test images after 4 epochs of
  // 3000 (measured: 92%).
  BOOST_TEST(history.back().test.accuracy >= 0.90);
  BOOST_TEST(history.back().train.loss < history.front().train.loss);
  BOOST_TEST(out.str().find("Epoch=1, Examples=3000, AvgError=") == 0);
  BOOST_TEST(out.str().find("TestAccuracy=") != std::string::npos);

  const Evaluation e = Trainer::evaluate(net, loss, sample().test, 128);
  BOOST_TEST(e.examples == 500);
  BOOST_TEST(e.accuracy == history.back().test.accuracy);
  std::int64_t total = 0, diagonal = 0;
  for (std::int32_t t = 0; t < e.classes; ++t) {
    for (std::int32_t p = 0; p < e.classes; ++p) {
      total += e.confusion[static_cast<std::size_t>(t * e.classes + p)];
      if (t == p) diagonal += e.confusion[static_cast<std::size_t>(t * e.classes + p)];
    }
  }
  BOOST_TEST(total == 500);
  BOOST_TEST(static_cast<double>(diagonal) / 500.0 == e.accuracy);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_model) {
  Tensor params[2];
  for (auto& p : params) {
    Sequential net = mlp();
    SGD opt(net, SGDOptions(0.1f).momentum(0.9f));
    SoftmaxCrossEntropy loss;
    TrainerOptions options;
    options.epochs = 1;
    options.progress = Progress::None;
    Trainer(net, loss, opt, options).fit(sample().train.head(1000), nullptr);
    p = net.parameters().clone();
  }
  BOOST_TEST(std::memcmp(params[0].data(), params[1].data(), static_cast<std::size_t>(params[0].size()) * 4) == 0);
}

BOOST_AUTO_TEST_CASE(divergence_stops_naming_epoch_and_step) {
  Sequential net = mlp();
  SGD opt(net, SGDOptions(1e30f));
  SoftmaxCrossEntropy loss;
  TrainerOptions options;
  options.epochs = 3;
  options.progress = Progress::None;
  Trainer trainer(net, loss, opt, options);
  expect_error<TrainingDiverged>([&] { trainer.fit(sample().train, nullptr); }, "training diverged at epoch 1, step ");
}

BOOST_AUTO_TEST_CASE(data_that_does_not_fit_the_network_is_refused) {
  Sequential net(Dense(100, 10));
  SGD opt(net, SGDOptions(0.1f));
  SoftmaxCrossEntropy loss;
  TrainerOptions options;
  options.progress = Progress::None;
  Trainer trainer(net, loss, opt, options);
  test::expect_invalid([&] { trainer.fit(sample().train, nullptr); },
                       "the network takes inputs of shape [100] (100 values) but the data's examples are [28, 28]");
  options.epochs = 0;
  test::expect_invalid([&] { Trainer(net, loss, opt, options); }, "epochs must be >= 1");
}
