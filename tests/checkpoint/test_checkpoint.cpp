// Checkpoints: a run resumed from any of its checkpoints (mid-epoch, at an epoch's end, after the last
// epoch) ends bit-identical to the run never interrupted, Dropout's masks and Adam's moments
// included; a checkpoint of another setup is refused naming the difference; every truncated or
// corrupted checkpoint is a clear error.
#define BOOST_TEST_MODULE checkpoint
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>
#include <vector>

#include "files/byte_codec.hpp"
#include "support/corrupted_files.hpp"
#include "support/expect_error.hpp"
#include "support/files.hpp"
#include "support/mnist_sample.hpp"
#include "support/same_bits.hpp"
#include "support/temp_dir.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;
using tessera::test::expect_error;
using tessera::test::TempDir;

namespace {
const data::Split& sample() {
  static const data::Split split = [] {
    data::Split s = test::mnist_sample();
    s.train = s.train.head(300);
    s.test = s.test.head(100);
    return s;
  }();
  return split;
}

// Dropout draws a mask per step: its random state must come back too.
Sequential network() {
  Sequential net(Dense(784, 32), ReLU(), Dropout(0.25f), Dense(32, 10));
  net.initialize(7, Init::He);
  return net;
}

TrainerOptions options(const std::filesystem::path& checkpoint, std::int64_t every) {
  TrainerOptions o;
  o.epochs = 3;
  o.batch_size = 32;  // 300 examples: 9 full batches and one of 12
  o.seed = 5;
  o.progress = Progress::None;
  o.checkpoint = checkpoint;
  o.checkpoint_every = every;
  o.checkpoint_metadata = {{"note", "test"}};
  return o;
}

using tessera::test::same_bits;

// Keeps a copy of every checkpoint the trainer writes, as it is about to replace the last.
struct CheckpointCopies {
  std::filesystem::path folder;
  int count = 0;
  explicit CheckpointCopies(std::filesystem::path f) : folder(std::move(f)) {
    detail::set_before_rename_hook([this](const std::filesystem::path& temp) {
      std::filesystem::copy_file(temp, folder / ("copy-" + std::to_string(count++) + ".tck"));
    });
  }
  ~CheckpointCopies() { detail::set_before_rename_hook({}); }
  CheckpointCopies(const CheckpointCopies&) = delete;
  CheckpointCopies& operator=(const CheckpointCopies&) = delete;
};
}  // namespace

BOOST_AUTO_TEST_CASE(resuming_from_any_checkpoint_ends_bit_identical) {
  TempDir dir;
  SoftmaxCrossEntropy loss;
  Sequential reference = network();
  Adam reference_opt(reference, AdamOptions(2e-3f).schedule(LRSchedule::cosine(30)));
  std::vector<EpochStats> expected;
  int copies = 0;
  {
    CheckpointCopies keep(dir.path());
    Trainer trainer(reference, loss, reference_opt, options(dir / "run.tck", 4));
    expected = trainer.fit(sample().train, &sample().test);
    copies = keep.count;
  }
  // 30 steps: every 4th (7 of them) and after each of the 3 epochs.
  BOOST_TEST(copies == 10);
  for (int i = 0; i < copies; ++i) {
    const Checkpoint c = load_checkpoint(dir / ("copy-" + std::to_string(i) + ".tck"));
    BOOST_TEST(c.metadata.at("note") == "test");
    Sequential net = network();
    net.initialize(99, Init::He);  // other weights and masks: all must come from the checkpoint
    Adam opt(net, AdamOptions(2e-3f).schedule(LRSchedule::cosine(30)));
    Trainer trainer(net, loss, opt, options({}, 0));
    trainer.resume(c);
    const std::int64_t first = c.progress.epoch;
    const auto history = trainer.fit(sample().train, &sample().test);
    BOOST_TEST_CONTEXT("checkpoint " << i << " (epoch " << first << ", step " << c.progress.step << ")") {
      BOOST_TEST(same_bits(net.parameters(), reference.parameters()));
      BOOST_TEST(same_bits(opt.first_moment(), reference_opt.first_moment()));
      BOOST_TEST(opt.step_count() == reference_opt.step_count());
      BOOST_REQUIRE(static_cast<std::int64_t>(history.size()) == 4 - first);
      for (const EpochStats& s : history) {
        const EpochStats& e = expected[static_cast<std::size_t>(s.epoch - 1)];
        BOOST_TEST(s.examples == e.examples);
        BOOST_TEST(s.train.loss == e.train.loss);
        BOOST_TEST(s.train.accuracy == e.train.accuracy);
        BOOST_TEST(s.test.accuracy == e.test.accuracy);
      }
    }
  }
}

namespace {
// y = 2·x0 − x1 + 0.5·x2·x3 + noise: 240 rows of 4 features.
data::Dataset regression_rows(std::uint64_t seed) {
  Rng rng(seed, 0);
  std::vector<float> x, y;
  for (int i = 0; i < 240; ++i) {
    float f[4];
    for (float& v : f) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    x.insert(x.end(), f, f + 4);
    y.push_back(2.0f * f[0] - f[1] + 0.5f * f[2] * f[3] + static_cast<float>(rng.uniform(-0.05, 0.05)));
  }
  return data::Dataset(std::move(x), Shape{4}, data::Targets::values(std::move(y)));
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_regression_run_with_early_stopping_resumes_bit_identical) {
  // Held-out validation, early stopping with patience 2 and the best epoch's weights restored: the
  // regression sums, the best epoch and its parameters all travel in the checkpoint.
  TempDir dir;
  const data::Dataset train = regression_rows(1), test = regression_rows(2);
  const auto make = [] {
    Sequential net(Dense(4, 16), Tanh(), Dense(16, 1));
    net.initialize(3);
    return net;
  };
  const auto opts = [&](const std::filesystem::path& checkpoint, std::int64_t every) {
    TrainerOptions o = options(checkpoint, every);
    o.epochs = 40;
    o.batch_size = 16;
    o.validation_fraction = 0.25;
    o.early_stopping = 2;
    return o;
  };
  Huber loss(0.5f);
  Sequential reference = make();
  // A large rate: the validation loss stops improving well before 40 epochs.
  SGD reference_opt(reference, SGDOptions(0.4f).momentum(0.9f));
  std::vector<EpochStats> expected;
  int copies = 0;
  {
    CheckpointCopies keep(dir.path());
    Trainer trainer(reference, loss, reference_opt, opts(dir / "run.tck", 5));
    expected = trainer.fit(train, &test);
    copies = keep.count;
  }
  BOOST_REQUIRE(expected.size() < 40u);  // it stopped early
  BOOST_TEST(expected.back().task == TargetKind::Values);
  BOOST_TEST(expected.back().test.r2 > 0.5);
  const Checkpoint last = load_checkpoint(dir / "run.tck");
  BOOST_TEST(last.progress.epoch == 41);  // the run is over
  BOOST_TEST(last.progress.best_epoch + 2 == static_cast<std::int64_t>(expected.size()));
  // The parameters restored are the best epoch's, whose test figures were reported then.
  const Evaluation e = Trainer::evaluate(reference, loss, test);
  BOOST_TEST(e.rmse == expected[static_cast<std::size_t>(last.progress.best_epoch - 1)].test.rmse);
  BOOST_TEST(copies > 4);
  for (int i = 0; i < copies; ++i) {
    const Checkpoint c = load_checkpoint(dir / ("copy-" + std::to_string(i) + ".tck"));
    Sequential net = make();
    net.initialize(99);
    SGD opt(net, SGDOptions(0.4f).momentum(0.9f));
    Trainer trainer(net, loss, opt, opts({}, 0));
    trainer.resume(c);
    const auto history = trainer.fit(train, &test);
    BOOST_TEST_CONTEXT("checkpoint " << i << " (epoch " << c.progress.epoch << ", step " << c.progress.step << ")") {
      BOOST_TEST(same_bits(net.parameters(), reference.parameters()));
      if (!history.empty()) {
        BOOST_TEST(history.back().epoch == expected.back().epoch);
        const EpochStats& s = history.front();
        const EpochStats& x = expected[static_cast<std::size_t>(s.epoch - 1)];
        BOOST_TEST(s.train.loss == x.train.loss);
        BOOST_TEST(s.train.rmse == x.train.rmse);
        BOOST_TEST(s.train.mae == x.train.mae);
        BOOST_TEST(s.validation.loss == x.validation.loss);
        BOOST_TEST(s.test.r2 == x.test.r2);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_checkpoint_from_format_1_still_loads_and_resumes) {
  // Written by tessera 0.3.0 (checkpoint format 1) after epoch 1 of 3: Dense(6, 5), Tanh, Dense(5, 3),
  // SGD with momentum 0.9 (lr 0.1), batch 16, seed 5, 40 byte examples.
  const Checkpoint c = load_checkpoint(TESSERA_TEST_DATA "/checkpoints/v1-dense-sgd.ckpt");
  BOOST_TEST(c.metadata.at("written_by") == "tessera 0.3.0 (checkpoint format 1)");
  BOOST_TEST(c.progress.epoch == 1);
  BOOST_TEST(c.progress.step == 3);
  BOOST_TEST(c.progress.examples_per_epoch == 40);
  BOOST_TEST(c.progress.best_epoch == 0);
  BOOST_TEST(c.progress.abs_error_sum == 0.0);
  BOOST_TEST(c.progress.best_parameters.empty());
  BOOST_TEST(c.optimizer_state.steps == 3);
  BOOST_TEST(c.network.parameter_count() == 53);
  BOOST_TEST(const_cast<Graph&>(c.network).parameters()[0] == -0.429645f, boost::test_tools::tolerance(1e-5f));
  // It resumes: the same data (as it was made), the remaining two epochs.
  std::vector<std::uint8_t> images(40 * 6), labels(40);
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<std::uint8_t>((i * 37) % 251);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    labels[i] = static_cast<std::uint8_t>((images[i * 6] + images[i * 6 + 1]) % 3);
  }
  const data::Dataset train(images, labels, Shape{6}, 3);
  Sequential net(Dense(6, 5), Tanh(), Dense(5, 3));
  SGD opt(net, SGDOptions(0.1f).momentum(0.9f));
  TrainerOptions o;
  o.epochs = 3;
  o.batch_size = 16;
  o.seed = 5;
  o.progress = Progress::None;
  Trainer trainer(net, SoftmaxCrossEntropy(), opt, o);
  trainer.resume(c);
  const auto history = trainer.fit(train, nullptr);
  BOOST_TEST(history.size() == 3u);
  BOOST_TEST(history.front().examples == 40);
  BOOST_TEST(opt.step_count() == 9);
}

BOOST_AUTO_TEST_CASE(sgd_momentum_state_comes_back) {
  TempDir dir;
  SoftmaxCrossEntropy loss;
  Sequential net = network();
  SGD opt(net, SGDOptions(0.05f).momentum(0.9f).nesterov(true));
  Trainer(net, loss, opt, options(dir / "sgd.tck", 0)).fit(sample().train, nullptr);
  const Checkpoint c = load_checkpoint(dir / "sgd.tck");
  BOOST_TEST(c.progress.epoch == 4);  // the run is over
  BOOST_REQUIRE(c.optimizer_state.buffers.size() == 1u);
  BOOST_TEST(std::memcmp(c.optimizer_state.buffers[0].data(), opt.velocity().data(),
                         static_cast<std::size_t>(opt.velocity().size()) * sizeof(float)) == 0);
  BOOST_TEST(c.optimizer == opt.name());
  BOOST_TEST(same_bits(const_cast<Graph&>(c.network).parameters(), net.parameters()));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_another_setup_is_refused) {
  TempDir dir;
  SoftmaxCrossEntropy loss;
  Sequential net = network();
  Adam opt(net, AdamOptions(1e-3f));
  Trainer(net, loss, opt, options(dir / "a.tck", 0)).fit(sample().train, nullptr);
  const Checkpoint c = load_checkpoint(dir / "a.tck");

  const auto refused = [&](Sequential& other, Optimizer& o, TrainerOptions to, const std::string& fragment) {
    Trainer t(other, loss, o, std::move(to));
    test::expect_invalid([&] { t.resume(c); }, fragment);
  };
  {
    Sequential other = network();
    Adam o(other, AdamOptions(1e-3f));
    TrainerOptions to = options({}, 0);
    to.seed = 6;
    refused(other, o, to, "the checkpoint was taken with seed 5, this trainer has 6");
    to = options({}, 0);
    to.batch_size = 64;
    refused(other, o, to, "batch size 32, this trainer has 64");
    to = options({}, 0);
    to.epochs = 4;
    refused(other, o, to, "epochs 3, this trainer has 4");
    Adam faster(other, AdamOptions(2e-3f));
    refused(other, faster, options({}, 0), "the optimizer Adam(lr=0.001");
    SGD sgd(other, SGDOptions(1e-3f));
    refused(other, sgd, options({}, 0), "this trainer has SGD(");
  }
  {
    Sequential wider(Dense(784, 33), ReLU(), Dropout(0.25f), Dense(33, 10));
    Adam o(wider, AdamOptions(1e-3f));
    refused(wider, o, options({}, 0), "the network Dense(784, 32)");
  }
  // The data must be the checkpoint's too (a mid-epoch position counts its steps).
  {
    CheckpointCopies keep(dir.path());
    Sequential n2 = network();
    Adam o2(n2, AdamOptions(1e-3f));
    Trainer(n2, loss, o2, options(dir / "b.tck", 3)).fit(sample().train, nullptr);
  }
  const Checkpoint mid = load_checkpoint(dir / "copy-0.tck");
  BOOST_TEST(mid.progress.step == 3);
  Sequential n3 = network();
  Adam o3(n3, AdamOptions(1e-3f));
  Trainer t3(n3, loss, o3, options({}, 0));
  t3.resume(mid);
  test::expect_invalid([&] { t3.fit(sample().train.head(200), nullptr); },
                       "taken over 300 training examples, but this data has 200");
}

BOOST_AUTO_TEST_CASE(checkpoint_options_are_checked) {
  Sequential net = network();
  Adam opt(net, AdamOptions(1e-3f));
  SoftmaxCrossEntropy loss;
  test::expect_invalid([&] { Trainer(net, loss, opt, options({}, 5)); }, "only with a checkpoint file");
  test::expect_invalid([&] { Trainer(net, loss, opt, options("x.tck", -1)); }, "checkpoint_every must be >= 0");
  Sequential other(Dense(3, 2));
  expect_error<std::invalid_argument>([&] { save_checkpoint("never.tck", other, opt, TrainingProgress{}); },
                                      "the optimizer updates");
}

BOOST_AUTO_TEST_CASE(every_truncation_and_flipped_byte_is_a_clear_error) {
  TempDir dir;
  // A small network keeps the file short enough to cut at every byte.
  Sequential net(Dense(5, 3), Dropout(0.5f), Dense(3, 2));
  net.initialize(1);
  Adam opt(net, AdamOptions(1e-3f));
  TrainingProgress at;
  at.batch_size = 4;
  at.epochs = 2;
  at.examples_per_epoch = 10;
  at.step = 1;
  at.examples = 4;
  at.correct = 2;
  save_checkpoint(dir / "good.tck", net, opt, at, {{"k", "v"}});
  BOOST_REQUIRE_NO_THROW(load_checkpoint(dir / "good.tck"));
  test::expect_every_cut_and_flip_rejected<ModelFileError>(
      dir.path(), test::read_bytes(dir / "good.tck"), ".tck",
      [](const std::filesystem::path& file) { load_checkpoint(file); });
  // A model file is not a checkpoint, nor the other way round.
  save_model(dir / "m.tsr", net);
  expect_error<ModelFileError>([&] { load_checkpoint(dir / "m.tsr"); }, "not a Tessera checkpoint");
  expect_error<ModelFileError>([&] { load_model(dir / "good.tck"); }, "not a Tessera model file");
}

BOOST_AUTO_TEST_CASE(an_inconsistent_position_is_refused_even_with_a_valid_checksum) {
  TempDir dir;
  Sequential net(Dense(5, 3));
  net.initialize(1);
  SGD opt(net, SGDOptions(0.1f));
  TrainingProgress at;
  at.batch_size = 4;
  at.epochs = 2;
  at.examples_per_epoch = 10;
  at.step = 4;  // 10 examples make 3 steps
  save_checkpoint(dir / "bad.tck", net, opt, at);
  expect_error<ModelFileError>([&] { load_checkpoint(dir / "bad.tck"); }, "training position is inconsistent");
}
