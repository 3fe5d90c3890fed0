// tessera::distributed under mpirun (-np 2 and -np 3 in CTest): the sum across processes is exact
// where it can be checked exactly, the same bits on every process and in every repetition, and
// matches a single-process sum within float rounding; a data-parallel gradient matches the
// single-process gradient of the same global batch; data-parallel training keeps the processes'
// parameters bit-identical, repeats bit for bit, and learns as one process does; a residual graph
// with batch normalisation keeps its running statistics (buffers) identical on every process.
#define BOOST_TEST_MODULE distributed
#include <boost/test/unit_test.hpp>

#include <mpi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "support/data_parallel_fit.hpp"
#include "support/mnist_sample.hpp"
#include "tessera/distributed.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;

namespace {

// MPI for the whole test module.
struct MpiFixture {
  MpiFixture()
      : session(std::make_unique<distributed::Session>(&boost::unit_test::framework::master_test_suite().argc,
                                                       &boost::unit_test::framework::master_test_suite().argv)) {}
  std::unique_ptr<distributed::Session> session;
};

// A CRC of the bits, compared across processes.
std::uint64_t fingerprint(const float* p, std::int64_t n) {
  std::uint64_t h = 1469598103934665603ULL;
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  for (std::int64_t i = 0; i < n * 4; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

bool same_everywhere(std::uint64_t value) {
  std::uint64_t low = value, high = value;
  MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  return low == high;
}

// Process r's values: from a seed of its own, so every process can compute every other's.
std::vector<float> values_of(int rank, std::int64_t n) {
  std::mt19937 rng(static_cast<unsigned>(100 + rank));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

const data::Split& sample() { return test::mnist_sample(); }

Sequential mlp() {
  Sequential net(Dense(784, 64), ReLU(), Dense(64, 10));
  net.initialize(3, Init::He);
  return net;
}

struct Run {
  std::uint64_t parameters;  // fingerprint
  double accuracy;
  std::int64_t examples;  // of the last epoch
};

// Three epochs of mlp() with Adam, batch 50, on `train` (across `processes` when not null).
Run train_mlp(const data::Dataset& train, ProcessGroup* processes, bool sharded) {
  Sequential net = mlp();
  const auto history = test::fit_data_parallel(net, train, 3, 50, processes, sharded);
  return {fingerprint(net.parameters().data(), net.parameter_count()), history.back().test.accuracy,
          history.back().examples};
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(MpiFixture);

BOOST_AUTO_TEST_CASE(sums_are_exact_identical_and_repeatable) {
  distributed::MpiProcessGroup world(120.0);
  BOOST_TEST_MESSAGE("rank " << world.rank() << " of " << world.size());
  BOOST_REQUIRE(world.size() >= 2);
  // Small integers add exactly in any order: the sum must be exact.
  for (std::int64_t n : {1, 2, 3, 7, 1000, 100003}) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>((i % 97) + world.rank());
    world.sum(v.data(), n);
    long wrong = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double expected = static_cast<double>(world.size() * (i % 97)) + world.size() * (world.size() - 1) / 2.0;
      wrong += static_cast<double>(v[static_cast<std::size_t>(i)]) != expected;
    }
    BOOST_TEST(wrong == 0, "n = " << n);
  }
  // Random values: the same bits on every process, twice, and within rounding of a double sum.
  const std::int64_t n = 535818;  // the mlp preset's parameters
  std::uint64_t first = 0;
  for (int repeat = 0; repeat < 2; ++repeat) {
    std::vector<float> v = values_of(world.rank(), n);
    world.sum(v.data(), n);
    const std::uint64_t f = fingerprint(v.data(), n);
    BOOST_TEST(same_everywhere(f));
    if (repeat == 0) first = f;
    BOOST_TEST(f == first);
    std::vector<double> exact(static_cast<std::size_t>(n), 0.0);
    for (int r = 0; r < world.size(); ++r) {
      const std::vector<float> theirs = values_of(r, n);
      for (std::size_t i = 0; i < exact.size(); ++i) exact[i] += static_cast<double>(theirs[i]);
    }
    long wrong = 0;
    for (std::size_t i = 0; i < exact.size(); ++i)
      wrong += std::abs(static_cast<double>(v[i]) - exact[i]) > 4e-7 * world.size();
    BOOST_TEST(wrong == 0);
  }
  double d[2] = {0.5, static_cast<double>(world.rank())};
  world.sum(d, 2);
  BOOST_TEST(d[0] == 0.5 * world.size());
  BOOST_TEST(d[1] == world.size() * (world.size() - 1) / 2.0);
}

BOOST_AUTO_TEST_CASE(the_summed_gradient_is_the_gradient_of_the_whole_batch) {
  distributed::MpiProcessGroup world(120.0);
  const std::int64_t batch = 100;  // not a multiple of 3: shards of 33 and 34
  Sequential net = mlp();
  Tensor x(Shape{batch, 784});
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  const std::vector<std::int64_t> order = sample().train.sequential_order();
  sample().train.gather(order, 0, x, labels);
  SoftmaxCrossEntropy loss;
  // One process's gradient of the whole batch.
  net.zero_grad();
  loss.compute(net.forward(x), labels, &net.output_gradient());
  net.backward(net.output_gradient());
  const Tensor whole = net.gradients().clone();
  // This process's shard, weighted by its share, summed across the processes.
  const std::int64_t lo = batch * world.rank() / world.size(), hi = batch * (world.rank() + 1) / world.size();
  net.zero_grad();
  const Tensor shard = x.rows(lo, hi - lo);
  const std::span<const std::int32_t> shard_labels(labels.data() + lo, static_cast<std::size_t>(hi - lo));
  loss.compute(net.forward(shard), shard_labels, &net.output_gradient());
  net.backward(net.output_gradient());
  Tensor g = net.gradients();
  for (std::int64_t i = 0; i < g.size(); ++i) g[i] *= static_cast<float>(static_cast<double>(hi - lo) / batch);
  world.sum(g.data(), g.size());
  double worst = 0.0, scale = 0.0;
  for (std::int64_t i = 0; i < g.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(g[i] - whole[i])));
    scale = std::max(scale, static_cast<double>(std::abs(whole[i])));
  }
  BOOST_TEST(worst <= 1e-5 * scale, "largest difference " << worst << " for gradients up to " << scale);
  BOOST_TEST(same_everywhere(fingerprint(g.data(), g.size())));
}

BOOST_AUTO_TEST_CASE(data_parallel_training_is_identical_everywhere_repeatable_and_learns) {
  distributed::MpiProcessGroup world(120.0);
  const data::Dataset train = sample().train.head(1500);
  const Run first = train_mlp(train, &world, false), second = train_mlp(train, &world, false);
  BOOST_TEST(same_everywhere(first.parameters));
  BOOST_TEST(first.parameters == second.parameters);
  BOOST_TEST(first.examples == 1500);
  // The same run in one process (the same global batches): the accuracy within a stated tolerance.
  const double single = train_mlp(train, nullptr, false).accuracy;
  BOOST_TEST_MESSAGE(world.size() << " processes: " << first.accuracy << ", one process: " << single);
  BOOST_TEST(std::abs(first.accuracy - single) <= 0.02);
}

BOOST_AUTO_TEST_CASE(sharded_data_each_process_reading_its_part) {
  distributed::MpiProcessGroup world(120.0);
  const data::IdxPart part{world.rank(), world.size(), 1500};
  const data::Split mine = data::load_mnist(test::mnist_sample_dir(), part);
  BOOST_TEST(mine.train.size() == (1500 - world.rank() + world.size() - 1) / world.size());
  const Run first = train_mlp(mine.train, &world, true), second = train_mlp(mine.train, &world, true);
  BOOST_TEST(same_everywhere(first.parameters));
  BOOST_TEST(first.parameters == second.parameters);
  BOOST_TEST(first.examples == 1500);  // every example once per epoch, over the processes
  // Other batches than one process draws, so not the same numbers: the same accuracy within 3 points.
  const double single = train_mlp(sample().train.head(1500), nullptr, false).accuracy;
  BOOST_TEST_MESSAGE(world.size() << " processes on their parts: " << first.accuracy << ", one process: " << single);
  BOOST_TEST(std::abs(first.accuracy - single) <= 0.03);
}

BOOST_AUTO_TEST_CASE(a_residual_graph_with_batch_norm_trains_with_the_same_buffers_everywhere) {
  distributed::MpiProcessGroup world(120.0);
  const data::Dataset train = sample().train.head(600);
  const auto run = [&](ProcessGroup* processes) {
    Graph g;
    const Node x = g.input(Shape{28, 28, 1});
    const Node h = g.add(ReLU(), g.add(BatchNorm(8), g.add(Conv2D(1, 8, 3, 2, 1), x)));
    const Node r = g.add(BatchNorm(8), g.add(Conv2D(8, 8, 3, 1, 1), h));
    g.add(Dense(14 * 14 * 8, 10), g.add(Flatten(), g.add(ReLU(), g.add(Add(), {r, h}))));
    g.initialize(5, Init::He);
    const auto history = test::fit_data_parallel(g, train, 3, 60, processes, false);
    return std::pair{
        fingerprint(g.parameters().data(), g.parameter_count()) ^ fingerprint(g.buffers().data(), g.buffer_count()) * 3,
        history.back().test.accuracy};
  };
  const auto first = run(&world), second = run(&world);
  BOOST_TEST(same_everywhere(first.first));  // parameters and running statistics alike
  BOOST_TEST(first.first == second.first);
  const double single = run(nullptr).second;
  BOOST_TEST_MESSAGE(world.size() << " processes: " << first.second << ", one process: " << single);
  // Batch statistics over each process's shard, not the whole batch: close to one process, not equal.
  BOOST_TEST(std::abs(first.second - single) <= 0.1);
  BOOST_TEST(first.second > 0.6);  // chance is 0.1
}
