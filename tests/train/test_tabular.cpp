// Training on the user's own tables through Trainer: the committed CSV samples reach stated held-out
// figures (classification and regression), validation and early stopping restore the best epoch,
// on_epoch can stop a run, a loss that does not take the data's targets is refused before any step,
// and runs are bit-identical at 1, 2 and 3 threads.
#define BOOST_TEST_MODULE tabular
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "support/expect_error.hpp"
#include "support/same_bits.hpp"
#include "support/threads.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;

namespace {
const std::string kCsv = TESSERA_TEST_DATA "/csv/";

data::Dataset::Halves read_split(const std::string& file, const std::string& target, double test_fraction = 0.2) {
  data::CsvOptions o;
  o.targets = {target};
  return data::read_csv(kCsv + file, o).data.split(test_fraction, 42);
}

// Standardize fitted to the training set, then ReLU hidden layers, as the app's CSV mlp.
Sequential mlp(const data::Dataset& train, std::int64_t outputs, std::uint64_t seed) {
  Standardize s(train.example_size());
  s.fit(train);
  Sequential net(s, Dense(train.example_size(), 64), ReLU(), Dense(64, 32), ReLU(), Dense(32, outputs));
  net.initialize(seed, Init::He);
  return net;
}

// The app's table recipe: Adam 3e-3 with decoupled weight decay 0.5, cosine decay over the run.
Adam table_optimizer(Sequential& net, const data::Dataset& train, std::int64_t epochs, std::int64_t batch) {
  const std::int64_t steps = epochs * ((train.size() + batch - 1) / batch);
  return Adam(net, AdamOptions(3e-3f).weight_decay(0.5f).schedule(LRSchedule::cosine(steps)));
}

TrainerOptions quiet(std::int64_t epochs, std::int64_t batch = 16) {
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.progress = Progress::None;
  return o;
}

using tessera::test::same_bits;

}  // namespace

BOOST_AUTO_TEST_CASE(iris_and_breast_cancer_are_learned) {
  for (const auto& [file, target, floor] :
       {std::tuple{"iris.csv", "species", 0.93}, std::tuple{"breast_cancer.csv", "diagnosis", 0.95},
        std::tuple{"wine.csv", "cultivar", 0.94}}) {
    const auto [train, test] = read_split(file, target);
    Sequential net = mlp(train, train.classes(), 1);
    Adam opt = table_optimizer(net, train, 200, 32);
    const auto history = Trainer(net, SoftmaxCrossEntropy(), opt, quiet(200, 32)).fit(train, &test);
    BOOST_TEST_CONTEXT(file) {
      BOOST_TEST(history.back().task == TargetKind::Classes);
      BOOST_TEST(history.back().test.accuracy >= floor);
      const Evaluation e = Trainer::evaluate(net, SoftmaxCrossEntropy(), test);
      BOOST_TEST(e.accuracy == history.back().test.accuracy);
      std::int64_t total = 0;
      for (auto c : e.confusion) total += c;
      BOOST_TEST(total == test.size());
    }
  }
}

BOOST_AUTO_TEST_CASE(diabetes_regression_reaches_its_r2) {
  const auto [train, test] = read_split("diabetes.csv", "progression");
  BOOST_REQUIRE(train.target_kind() == TargetKind::Values);
  Sequential net = mlp(train, 1, 1);
  Adam opt = table_optimizer(net, train, 200, 32);
  const auto history = Trainer(net, MSE(), opt, quiet(200, 32)).fit(train, &test);
  const EpochStats& last = history.back();
  BOOST_TEST(last.task == TargetKind::Values);
  BOOST_TEST(last.test.r2 >= 0.40);
  BOOST_TEST(last.test.rmse > 0.0);
  BOOST_TEST(last.test.mae <= last.test.rmse);
  // The loss is summed from float batch means, RMSE from double sums: equal to float rounding.
  BOOST_TEST(last.train.rmse * last.train.rmse == last.train.loss, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(r2_rmse_and_mae_against_a_reference) {
  // A network that outputs its input: the figures are those of predicting x for target t.
  std::vector<float> x{1, 2, 3, 4}, t{1.5f, 2, 2, 5};
  const data::Dataset d(x, Shape{1}, data::Targets::values(t));
  Sequential net(Standardize(1));
  const Evaluation e = Trainer::evaluate(net, MSE(), d, 3);  // batches of 3 and 1
  // errors −0.5, 0, 1, −1; mean t = 2.625, SST = 1.265625 + 0.390625·2 + 5.640625 = 7.6875
  BOOST_TEST(e.mae == 2.5 / 4, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.rmse == std::sqrt(2.25 / 4), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.r2 == 1.0 - 2.25 / 7.6875, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.loss == 2.25 / 4, boost::test_tools::tolerance(1e-7));
  BOOST_TEST(e.confusion.empty());
}

BOOST_AUTO_TEST_CASE(early_stopping_stops_and_restores_the_best_epoch) {
  const auto [train, test] = read_split("breast_cancer.csv", "diagnosis");
  Sequential net = mlp(train, 2, 3);
  // A rate high enough to overfit quickly: the validation loss turns up.
  Adam opt(net, AdamOptions(2e-2f));
  TrainerOptions o = quiet(200);
  o.validation_fraction = 0.2;
  o.early_stopping = 3;
  std::ostringstream out;
  o.progress = Progress::Lines;
  o.out = &out;
  Tensor best_params;
  std::int64_t best_epoch = 0;
  double lowest = 1e300;
  o.on_epoch = [&](const EpochStats& s) {
    BOOST_TEST(s.validated);
    if (s.validation.loss < lowest) {
      lowest = s.validation.loss;
      best_epoch = s.epoch;
      best_params = net.parameters().clone();
      BOOST_TEST(s.best);
    }
  };
  const auto history = Trainer(net, SoftmaxCrossEntropy(), opt, o).fit(train, &test);
  BOOST_REQUIRE(history.size() < 200u);
  BOOST_TEST(static_cast<std::int64_t>(history.size()) == best_epoch + 3);
  BOOST_TEST(same_bits(net.parameters(), best_params));
  // Trained on 80% of the training set: the epoch's examples say so.
  BOOST_TEST(history.front().examples ==
             train.size() - static_cast<std::int64_t>(std::llround(0.2 * static_cast<double>(train.size()))));
  const std::string text = out.str();
  BOOST_TEST(text.find("ValidationLoss=") != std::string::npos);
  BOOST_TEST(text.find("Stopped early after epoch " + std::to_string(history.size()) +
                       ": restored the parameters of epoch " + std::to_string(best_epoch)) != std::string::npos,
             text);
}

BOOST_AUTO_TEST_CASE(on_epoch_can_stop_a_run) {
  const auto [train, test] = read_split("iris.csv", "species");
  Sequential net = mlp(train, 3, 1);
  SGD opt(net, SGDOptions(0.05f));
  TrainerOptions o = quiet(50);
  o.on_epoch = [](const EpochStats& s) { return s.epoch == 4 ? EpochAction::Stop : EpochAction::Continue; };
  BOOST_TEST(Trainer(net, SoftmaxCrossEntropy(), opt, o).fit(train, &test).size() == 4u);
}

BOOST_AUTO_TEST_CASE(a_loss_that_does_not_take_the_targets_is_refused_before_training) {
  // Named references, not structured bindings: Clang 14 cannot capture those in lambdas.
  const auto diabetes = read_split("diabetes.csv", "progression");
  const data::Dataset& train = diabetes.first;
  const data::Dataset& test = diabetes.second;
  Sequential net = mlp(train, 1, 1);
  SGD opt(net, SGDOptions(0.01f));
  const SoftmaxCrossEntropy cross_entropy;  // a Trainer keeps a reference: it must outlive it
  Trainer values_trainer(net, cross_entropy, opt, quiet(1));
  test::expect_invalid([&] { values_trainer.fit(train, &test); },
                       "the loss SoftmaxCrossEntropy does not take targets that are values (a regression task)");
  BOOST_TEST(opt.step_count() == 0);
  const auto iris_halves = read_split("iris.csv", "species");
  const data::Dataset& iris = iris_halves.first;
  Sequential c = mlp(iris, 3, 1);
  SGD copt(c, SGDOptions(0.01f));
  test::expect_invalid([&] { Trainer(c, L1(), copt, quiet(1)).fit(iris, nullptr); },
                       "the loss L1 does not take targets that are classes (a classification task)");
  Sequential narrow = mlp(iris, 2, 1);
  SGD nopt(narrow, SGDOptions(0.01f));
  test::expect_invalid([&] { Trainer(narrow, SoftmaxCrossEntropy(), nopt, quiet(1)).fit(iris, nullptr); },
                       "outputs cannot score the data's 3 classes");
  TrainerOptions bad = quiet(1);
  bad.early_stopping = 2;
  test::expect_invalid([&] { Trainer(c, SoftmaxCrossEntropy(), copt, bad).fit(iris, nullptr); },
                       "early stopping needs a validation set");
  bad.validation_fraction = 1.5;
  test::expect_invalid([&] { Trainer(c, SoftmaxCrossEntropy(), copt, bad); }, "validation_fraction must be in [0, 1)");
}

BOOST_AUTO_TEST_CASE(bit_identical_at_1_2_and_3_threads) {
  // Batches of 200 rows: large enough that the layers really split across threads.
  Rng rng(9, 0);
  std::vector<float> x, y;
  std::vector<std::int32_t> c;
  for (int i = 0; i < 3000; ++i) {
    float f[20];
    for (float& v : f) v = static_cast<float>(rng.uniform(-2.0, 2.0));
    x.insert(x.end(), f, f + 20);
    y.push_back(f[0] * f[1] - f[2] + 0.1f * f[3]);
    c.push_back(f[0] + f[4] > 0.0f ? 1 : 0);
  }
  const data::Dataset regression(x, Shape{20}, data::Targets::values(y));
  const data::Dataset classification(x, Shape{20}, data::Targets::classes(c));
  for (const data::Dataset* d : {&regression, &classification}) {
    Tensor first;
    std::vector<EpochStats> first_history;
    for (int threads : {1, 2, 3}) {
      Sequential net = mlp(*d, d->target_kind() == TargetKind::Values ? 1 : 2, 4);
      Adam opt(net, AdamOptions(1e-3f));
      TrainerOptions o = quiet(3, 200);
      o.validation_fraction = 0.1;
      std::vector<EpochStats> history;
      test::run_on_threads(threads, [&] {
        if (d->target_kind() == TargetKind::Values) {
          history = Trainer(net, Huber(), opt, o).fit(*d, nullptr);
        } else {
          history = Trainer(net, SoftmaxCrossEntropy(), opt, o).fit(*d, nullptr);
        }
      });
      if (threads == 1) {
        first = net.parameters().clone();
        first_history = history;
        continue;
      }
      BOOST_TEST_CONTEXT(to_string(d->target_kind()) << ", " << threads << " threads") {
        BOOST_TEST(same_bits(net.parameters(), first));
        for (std::size_t e = 0; e < history.size(); ++e) {
          BOOST_TEST(history[e].train.loss == first_history[e].train.loss);
          BOOST_TEST(history[e].validation.loss == first_history[e].validation.loss);
          BOOST_TEST(history[e].validation.rmse == first_history[e].validation.rmse);
        }
      }
    }
  }
}
