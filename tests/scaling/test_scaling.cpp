// Scaling: the thread count is a real parameter. The same training runs (mlp, cnn, resnet) give
// bit-identical parameters, buffers and metrics at 1, 2, 3, 4, 8 and 16 threads (more than the cores: oversubscribed),
// and with N threads allowed, a large product and a training step really run on N threads (and on one with 1 allowed).
#define BOOST_TEST_MODULE scaling
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <tbb/task_arena.h>
#include <tbb/task_scheduler_observer.h>

#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support/mnist_sample.hpp"
#include "support/same_bits.hpp"
#include "support/threads.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;

namespace {

const data::Split& sample() { return test::mnist_sample(); }

// The app's mlp and cnn presets, built here (the tests link the library only).
Sequential mlp() {
  Sequential net(Dense(784, 512), ReLU(), Dense(512, 256), ReLU(), Dense(256, 10));
  net.initialize(11, Init::He);
  return net;
}

Sequential cnn() {
  Sequential net(Shape{28, 28, 1});
  net.add(Conv2D(1, 32, 5)).add(ReLU()).add(MaxPool2D(2)).add(Conv2D(32, 64, 5)).add(ReLU()).add(MaxPool2D(2));
  net.add(Flatten()).add(Dense(1024, 128)).add(ReLU()).add(Dense(128, 10));
  net.initialize(12, Init::He);
  return net;
}

// The app's resnet preset, as `tessera describe --model resnet` writes it (the app's test checks that
// the committed file is the preset).
Graph resnet() {
  Graph net = read_model_description(TESSERA_TEST_DATA "/models/resnet.json").network;
  net.initialize(13, Init::He);
  return net;
}

struct Run {
  Tensor parameters, buffers;
  std::vector<EpochStats> history;
};

// Trains `net` with Adam (cosine decay) for `epochs` over the first `examples` training images,
// evaluating on the test sample after each epoch.
Run train(Graph net, std::int64_t examples, std::int64_t epochs, std::int64_t batch) {
  const data::Dataset train = sample().train.head(examples);
  SoftmaxCrossEntropy loss;
  const std::int64_t steps = epochs * ((examples + batch - 1) / batch);
  Adam optimizer(net, AdamOptions(1e-3f).schedule(LRSchedule::cosine(steps)));
  TrainerOptions options;
  options.batch_size = batch;
  options.epochs = epochs;
  options.progress = Progress::None;
  Trainer trainer(net, loss, optimizer, options);
  Run run;
  run.history = trainer.fit(train, &sample().test);
  run.parameters = net.parameters().clone();
  if (net.buffer_count() > 0) run.buffers = net.buffers().clone();
  return run;
}

using tessera::test::same_bits;

void expect_identical(const Run& a, const Run& b, int threads) {
  BOOST_TEST(same_bits(a.parameters, b.parameters), threads << " threads: parameters differ from 1 thread's");
  BOOST_TEST(same_bits(a.buffers, b.buffers),
             threads << " threads: buffers (running statistics) differ from 1 thread's");
  BOOST_REQUIRE(a.history.size() == b.history.size());
  for (std::size_t e = 0; e < a.history.size(); ++e) {
    // Bitwise: the same sums in the same order, whatever the threads.
    BOOST_TEST(a.history[e].train.loss == b.history[e].train.loss, threads << " threads, epoch " << e + 1);
    BOOST_TEST(a.history[e].test.loss == b.history[e].test.loss, threads << " threads, epoch " << e + 1);
    BOOST_TEST(a.history[e].test.accuracy == b.history[e].test.accuracy, threads << " threads, epoch " << e + 1);
    BOOST_TEST(b.history[e].threads == threads);
  }
}

const std::vector<int> kThreadCounts{1, 2, 3, 4, 8, 16};

// The distinct threads that join an arena while it runs `work`, as a task_scheduler_observer sees them.
template <class F>
std::size_t threads_used(int threads, F&& work) {
  ThreadLimit limit(threads);
  tbb::task_arena arena(threads);
  arena.initialize();
  struct Observer : tbb::task_scheduler_observer {
    explicit Observer(tbb::task_arena& a) : tbb::task_scheduler_observer(a) { observe(true); }
    ~Observer() override { observe(false); }
    void on_scheduler_entry(bool /*is_worker*/) override {
      const std::lock_guard<std::mutex> lock(mutex);
      ids.insert(std::this_thread::get_id());
    }
    std::mutex mutex;
    std::set<std::thread::id> ids;
  } observer(arena);
  // A busy machine (another test beside this one) can keep a woken worker off a core for the whole
  // of one run: repeat the work, a few times at most, until every allowed thread has joined. More
  // than `threads` would still show, and fewer after ten runs still fails.
  const auto joined = [&] {
    const std::lock_guard<std::mutex> lock(observer.mutex);
    return observer.ids.size();
  };
  for (int run = 0; run < 10 && joined() < static_cast<std::size_t>(threads); ++run) arena.execute(work);
  return joined();
}

}  // namespace

BOOST_AUTO_TEST_CASE(mlp_training_is_bit_identical_at_every_thread_count) {
  // 8 epochs of 1,500 images at batch 64: 192 steps, with evaluation after each epoch.
  std::vector<Run> runs;
  for (int t : kThreadCounts) {
    test::run_on_threads(t, [&] { runs.push_back(train(mlp(), 1500, 8, 64)); });
  }
  BOOST_TEST(runs.front().history.back().test.accuracy > 0.85);
  for (std::size_t i = 1; i < runs.size(); ++i) expect_identical(runs.front(), runs[i], kThreadCounts[i]);
}

BOOST_AUTO_TEST_CASE(cnn_training_is_bit_identical_at_every_thread_count) {
  // 6 steps of 64 images (and an evaluation on the 500 test images).
  std::vector<Run> runs;
  for (int t : kThreadCounts) {
    test::run_on_threads(t, [&] { runs.push_back(train(cnn(), 384, 1, 64)); });
  }
  for (std::size_t i = 1; i < runs.size(); ++i) expect_identical(runs.front(), runs[i], kThreadCounts[i]);
}

BOOST_AUTO_TEST_CASE(resnet_training_is_bit_identical_at_every_thread_count) {
  // 4 steps of 64 images through the residual graph with batch norm (and an evaluation).
  std::vector<Run> runs;
  for (int t : kThreadCounts) {
    test::run_on_threads(t, [&] { runs.push_back(train(resnet(), 256, 1, 64)); });
  }
  BOOST_TEST(runs.front().buffers.size() == 2 * (16 + 16 + 16 + 32 + 32 + 32 + 64 + 64 + 64));
  for (std::size_t i = 1; i < runs.size(); ++i) expect_identical(runs.front(), runs[i], kThreadCounts[i]);
}

BOOST_AUTO_TEST_CASE(the_allowed_threads_are_the_threads_used) {
  std::vector<float> a(1024 * 1024, 0.5f), b(a.size(), 0.25f), c(a.size());
  const auto product = [&] {
    for (int rep = 0; rep < 4; ++rep) {
      gemm(Trans::No, Trans::No, 1024, 1024, 1024, 1.0f, a.data(), 1024, b.data(), 1024, 0.0f, c.data(), 1024);
    }
  };
  // Steps long enough (batch 1024) for every worker to be woken and join within the first ones.
  Tensor x(Shape{1024, 784});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) / 13.0f;
  const std::vector<std::int32_t> labels(1024, 3);
  const auto steps = [&] {
    Sequential net = mlp();
    Adam optimizer(net, AdamOptions(1e-3f));
    SoftmaxCrossEntropy loss;
    for (int step = 0; step < 10; ++step) {
      optimizer.zero_grad();
      loss.compute(net.forward(x), labels, &net.output_gradient());
      net.backward(net.output_gradient());
      optimizer.step();
    }
  };
  for (int t : {1, 2, 3, 4}) {
    BOOST_TEST(threads_used(t, product) == static_cast<std::size_t>(t), "1024³ products, " << t << " allowed");
    BOOST_TEST(threads_used(t, steps) == static_cast<std::size_t>(t), "mlp training steps, " << t << " allowed");
  }
}
