// The Trainer's data-parallel mode without MPI: "processes" that are threads of this one, summing in
// rank order through shared memory (the contract of ProcessGroup). Their parameters stay
// bit-identical, a repeated run repeats bit for bit, and they learn as one process does, with every
// process holding all the data or only its part. tests/distributed does the same over MPI.
#define BOOST_TEST_MODULE data_parallel
#include <boost/test/unit_test.hpp>

#include <barrier>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "support/data_parallel_fit.hpp"
#include "support/mnist_sample.hpp"
#include "support/same_bits.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;

namespace {

// `size` threads as the processes of a run. sum(): each thread publishes its buffer; then each adds
// its own share of the elements over the ranks in rank order and writes the sum into every buffer.
class ThreadGroup final : public ProcessGroup {
 public:
  struct Shared {
    explicit Shared(int n) : size(n), sync(n), buffers(static_cast<std::size_t>(n)) {}
    int size;
    std::barrier<> sync;
    std::vector<void*> buffers;
  };
  ThreadGroup(Shared& shared, int rank) : shared_(shared), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return shared_.size; }
  void sum(float* values, std::int64_t n) override { sum_impl(values, n); }
  void sum(double* values, std::int64_t n) override { sum_impl(values, n); }

 private:
  template <class T>
  void sum_impl(T* values, std::int64_t n) {
    shared_.buffers[static_cast<std::size_t>(rank_)] = values;
    shared_.sync.arrive_and_wait();
    const std::int64_t lo = n * rank_ / shared_.size, hi = n * (rank_ + 1) / shared_.size;
    for (std::int64_t i = lo; i < hi; ++i) {
      T acc = static_cast<T*>(shared_.buffers[0])[i];
      for (int r = 1; r < shared_.size; ++r) acc += static_cast<T*>(shared_.buffers[static_cast<std::size_t>(r)])[i];
      for (int r = 0; r < shared_.size; ++r) static_cast<T*>(shared_.buffers[static_cast<std::size_t>(r)])[i] = acc;
    }
    shared_.sync.arrive_and_wait();
  }

  Shared& shared_;
  int rank_;
};

const data::Split& sample() { return test::mnist_sample(); }

struct Run {
  Tensor parameters;
  double accuracy = 0.0;
  std::int64_t examples = 0;
};

// Two epochs of a small network with Dropout (its masks must differ per process) and Adam.
Run train(const data::Dataset& data, ProcessGroup* processes, bool sharded) {
  Sequential net(Dense(784, 48), ReLU(), Dropout(0.2f), Dense(48, 10));
  net.initialize(11, Init::He);
  const auto history = test::fit_data_parallel(net, data, 2, 40, processes, sharded);
  return {net.parameters().clone(), history.back().test.accuracy, history.back().examples};
}

// Runs `ranks` threads as processes, each training on data_of(rank).
std::vector<Run> run_group(int ranks, bool sharded, const std::function<data::Dataset(int)>& data_of) {
  ThreadGroup::Shared shared(ranks);
  std::vector<Run> runs(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      ThreadGroup group(shared, r);
      runs[static_cast<std::size_t>(r)] = train(data_of(r), &group, sharded);
    });
  }
  for (auto& t : threads) t.join();
  return runs;
}

using tessera::test::same_bits;

}  // namespace

BOOST_AUTO_TEST_CASE(every_process_holding_all_the_data) {
  const data::Dataset data = sample().train.head(1000);
  const double single = train(data, nullptr, false).accuracy;
  for (int ranks : {2, 3}) {
    const auto runs = run_group(ranks, false, [&](int) { return data; });
    const auto again = run_group(ranks, false, [&](int) { return data; });
    for (int r = 0; r < ranks; ++r) {
      BOOST_TEST(same_bits(runs[static_cast<std::size_t>(r)].parameters, runs[0].parameters), "rank " << r);
      BOOST_TEST(same_bits(again[static_cast<std::size_t>(r)].parameters, runs[0].parameters), "rank " << r);
    }
    BOOST_TEST(runs[0].examples == 1000);
    BOOST_TEST_MESSAGE(ranks << " processes: " << runs[0].accuracy << ", one: " << single);
    BOOST_TEST(std::abs(runs[0].accuracy - single) <= 0.03);
  }
}

BOOST_AUTO_TEST_CASE(each_process_holding_its_part) {
  const double single = train(sample().train.head(1000), nullptr, false).accuracy;
  for (int ranks : {2, 3}) {
    const auto part_of = [&](int r) {
      return data::load_mnist(test::mnist_sample_dir(), data::IdxPart{r, ranks, 1000}).train;
    };
    const auto runs = run_group(ranks, true, part_of);
    const auto again = run_group(ranks, true, part_of);
    for (int r = 0; r < ranks; ++r) {
      BOOST_TEST(same_bits(runs[static_cast<std::size_t>(r)].parameters, runs[0].parameters), "rank " << r);
      BOOST_TEST(same_bits(again[static_cast<std::size_t>(r)].parameters, runs[0].parameters), "rank " << r);
    }
    BOOST_TEST(runs[0].examples == 1000);  // every example once per epoch, over the processes
    BOOST_TEST_MESSAGE(ranks << " processes on their parts: " << runs[0].accuracy << ", one: " << single);
    BOOST_TEST(std::abs(runs[0].accuracy - single) <= 0.03);
  }
}

namespace {
// A regression table, standardised with the whole training set's statistics, each process training
// on its part (Dataset::part), validated on a set all of them hold.
struct TableRun {
  Tensor parameters;
  double r2 = 0.0, validation_loss = 0.0;
  std::int64_t examples = 0;
};

const data::Dataset::Halves& diabetes() {
  static const data::Dataset::Halves halves = [] {
    data::CsvOptions o;
    o.targets = {"progression"};
    return data::read_csv(TESSERA_TEST_DATA "/csv/diabetes.csv", o).data.split(0.2, 7);
  }();
  return halves;
}

TableRun train_table(const data::Dataset& part, ProcessGroup* processes) {
  const data::Dataset& all = diabetes().first;
  Standardize s(all.example_size());
  s.fit(all);
  Sequential net(s, Dense(10, 32), ReLU(), Dense(32, 1));
  net.initialize(5, Init::He);
  Adam opt(net, AdamOptions(1e-2f));
  TrainerOptions o;
  o.epochs = 100;
  o.batch_size = 32;
  o.progress = Progress::None;
  o.processes = processes;
  o.sharded_data = processes != nullptr;
  const auto history = Trainer(net, MSE(), opt, o).fit(part, &diabetes().second, &diabetes().second);
  return {net.parameters().clone(), history.back().test.r2, history.back().validation.loss, history.back().examples};
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_regression_table_each_process_holding_its_part) {
  const data::Dataset& train = diabetes().first;
  const TableRun single = train_table(train, nullptr);
  BOOST_TEST(single.r2 > 0.3);
  for (int ranks : {2, 3}) {
    std::int64_t held = 0;
    for (int r = 0; r < ranks; ++r) held += train.part({r, ranks, 0}).size();
    BOOST_TEST(held == train.size());
    ThreadGroup::Shared shared(ranks), again_shared(ranks);
    std::vector<TableRun> runs(static_cast<std::size_t>(ranks)), again(runs.size());
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r) {
      threads.emplace_back([&, r] {
        ThreadGroup group(shared, r);
        runs[static_cast<std::size_t>(r)] = train_table(train.part({r, ranks, 0}), &group);
        ThreadGroup second(again_shared, r);
        again[static_cast<std::size_t>(r)] = train_table(train.part({r, ranks, 0}), &second);
      });
    }
    for (auto& t : threads) t.join();
    for (int r = 0; r < ranks; ++r) {
      BOOST_TEST(same_bits(runs[static_cast<std::size_t>(r)].parameters, runs[0].parameters), "rank " << r);
      BOOST_TEST(same_bits(again[static_cast<std::size_t>(r)].parameters, runs[0].parameters), "rank " << r);
      BOOST_TEST(runs[static_cast<std::size_t>(r)].validation_loss == runs[0].validation_loss);
    }
    BOOST_TEST(runs[0].examples == train.size());
    BOOST_TEST_MESSAGE(ranks << " processes on their parts of the table: R² " << runs[0].r2 << ", one: " << single.r2);
    BOOST_TEST(std::abs(runs[0].r2 - single.r2) <= 0.1);
  }
}
