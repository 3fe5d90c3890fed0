// Standardize: statistics from a data set (against a double-precision reference), the map and its
// gradient by central differences, its values as network buffers (not parameters: optimizers and
// weight decay never see them), and the round trip through a model file.
#define BOOST_TEST_MODULE standardize
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>

#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "support/temp_dir.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;

namespace {
// 50 rows of 3 features on very different scales, the last constant.
data::Dataset table() {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> a(1000.0f, 25.0f), b(-0.002f, 0.0005f);
  std::vector<float> x;
  std::vector<float> y;
  for (int i = 0; i < 50; ++i) {
    x.push_back(a(rng));
    x.push_back(b(rng));
    x.push_back(7.0f);
    y.push_back(static_cast<float>(i));
  }
  return data::Dataset(std::move(x), Shape{3}, data::Targets::values(std::move(y)));
}
}  // namespace

BOOST_AUTO_TEST_CASE(fit_gives_each_features_mean_and_population_stddev) {
  const data::Dataset d = table();
  Standardize s(3);
  s.fit(d);
  for (int j = 0; j < 3; ++j) {
    double sum = 0, sq = 0;
    for (std::int64_t i = 0; i < d.size(); ++i) sum += static_cast<double>(d.features(i)[static_cast<std::size_t>(j)]);
    const double mean = sum / static_cast<double>(d.size());
    for (std::int64_t i = 0; i < d.size(); ++i) {
      const double e = static_cast<double>(d.features(i)[static_cast<std::size_t>(j)]) - mean;
      sq += e * e;
    }
    const double stddev = std::sqrt(sq / static_cast<double>(d.size()));
    BOOST_TEST(static_cast<double>(s.mean()[static_cast<std::size_t>(j)]) == mean, boost::test_tools::tolerance(1e-6));
    if (j < 2) {
      BOOST_TEST(static_cast<double>(s.scale()[static_cast<std::size_t>(j)]) == 1.0 / stddev,
                 boost::test_tools::tolerance(1e-5));
    } else {
      BOOST_TEST(s.scale()[2] == 1.0f);  // no spread: left as it is, not divided by zero
    }
  }
  // Standardised, the training features have mean 0 and stddev 1.
  s.connect(Shape{3});
  Tensor x(Shape{d.size(), 3}), y(x.shape());
  for (std::int64_t i = 0; i < d.size(); ++i) {
    for (int j = 0; j < 3; ++j) x.at(i, j) = d.features(i)[static_cast<std::size_t>(j)];
  }
  s.forward(x, y);
  for (int j = 0; j < 2; ++j) {
    double sum = 0, sq = 0;
    for (std::int64_t i = 0; i < d.size(); ++i) sum += static_cast<double>(y.at(i, j));
    for (std::int64_t i = 0; i < d.size(); ++i) sq += static_cast<double>(y.at(i, j)) * static_cast<double>(y.at(i, j));
    BOOST_TEST(std::abs(sum / 50.0) < 1e-4);
    BOOST_TEST(std::sqrt(sq / 50.0) == 1.0, boost::test_tools::tolerance(1e-4));
  }
}

BOOST_AUTO_TEST_CASE(gradient_matches_central_differences) {
  Standardize s({1.0f, -2.0f, 0.5f, 3.0f}, {2.0f, 0.5f, 1.5f, 4.0f});
  s.connect(Shape{4});
  Tensor x(Shape{5, 4}), y(x.shape()), r(x.shape()), dx(x.shape());
  std::mt19937_64 rng(4);
  test::fill_uniform(x, rng, -3.0f, 3.0f);
  test::fill_uniform(r, rng);
  s.forward(x, y);
  s.backward(x, y, r, &dx, false);
  test::check_gradient("Standardize dx", x.data(), dx.data(), x.size(), [&] {
    s.forward(x, y);
    return test::weighted_sum(y, r);
  });
  BOOST_TEST(s.parameter_count() == 0);
}

BOOST_AUTO_TEST_CASE(statistics_are_buffers_saved_with_the_model_and_never_trained) {
  const data::Dataset d = table();
  Standardize s(3);
  s.fit(d);
  Sequential net(s, Dense(3, 4), ReLU(), Dense(4, 1));
  net.initialize(5);
  BOOST_TEST(net.buffer_count() == 6);
  BOOST_TEST(net.parameter_count() == 3 * 4 + 4 + 4 + 1);
  const Tensor before = net.buffers().clone();
  // Trained with weight decay: the parameters move, the statistics stay to the bit.
  Adam opt(net, AdamOptions(0.01f).weight_decay(0.1f));
  TrainerOptions o;
  o.epochs = 3;
  o.batch_size = 8;
  o.progress = Progress::None;
  Trainer(net, MSE(), opt, o).fit(d, nullptr);
  const Tensor after = net.buffers();
  for (std::int64_t i = 0; i < after.size(); ++i) BOOST_TEST(after[i] == before[i]);
  const auto& bound = dynamic_cast<const Standardize&>(net.layer(0));
  BOOST_TEST(bound.mean() == s.mean(), boost::test_tools::per_element());

  test::TempDir dir;
  save_model(dir / "m.tsr", net);
  LoadedModel back = load_model(dir / "m.tsr");
  const Tensor loaded = back.network.buffers();
  BOOST_REQUIRE(loaded.size() == 6);
  for (std::int64_t i = 0; i < loaded.size(); ++i) BOOST_TEST(loaded[i] == before[i]);
  // The same answers on raw rows.
  Tensor x(Shape{4, 3});
  for (std::int64_t i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) x.at(i, j) = d.features(i)[static_cast<std::size_t>(j)];
  }
  net.eval();
  back.network.eval();
  const Tensor a = net.forward(x).clone();
  const Tensor& b = back.network.forward(x);
  for (std::int64_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i] == b[i]);
}

BOOST_AUTO_TEST_CASE(bad_statistics_and_shapes_throw) {
  test::expect_invalid([] { Standardize(0); }, "features must be >= 1");
  test::expect_invalid([] { Standardize({1.0f}, {0.0f}); }, "feature 0 has mean 1");
  test::expect_invalid([] { Standardize({1.0f, 2.0f}, {1.0f}); }, "2 means and 1 standard deviations for 2 features");
  test::expect_invalid([] { Standardize({NAN}, {1.0f}); }, "finite, and stddev > 0");
  Standardize s(3);
  test::expect_invalid([&] { s.connect(Shape{4}); }, "takes inputs of shape [3], got [4]");
  const data::Dataset d = table();
  Standardize wrong(2);
  test::expect_invalid([&] { wrong.fit(d); }, "50 examples of 3 values for Standardize(2)");
  test::expect_invalid([] { make_layer({"Standardize", {0}}); }, "layer Standardize: 0 features");
}
