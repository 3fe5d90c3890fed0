// bench_train_step: one full training step (zero_grad, forward, loss, backward, optimizer) of the
// two reference MLPs at several batch sizes and thread counts: steps/s, examples/s, achieved GFLOP/s
// and the share of the step spent outside GEMM (from the network's own profile), with the optimizer's
// part of it. Medians over repetitions; each repetition times a run of consecutive steps.
//
//   bench_train_step [--threads 1,2] [--batch 32,128,256] [--optimizer sgd,adam] [--steps 40] [--repetitions 7]
#include <tbb/info.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../apps/tessera/presets.hpp"
#include "median.hpp"
#include "tessera/tessera.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The app's presets: seed (784-100-50-10 sigmoid/MSE) and mlp (784-512-256-10 ReLU/CE).
struct Network {
  std::string label;
  const tessera_app::Preset& preset;
};

// GEMM work of one step: forward and dW for every layer, dX for all but the first.
double step_flops(const tessera::Graph& net, std::int64_t batch) {
  double flops = 0.0;
  bool first = true;
  for (std::size_t i = 0; i < net.size(); ++i) {
    const double layer = net.layer(i).flops_per_example() * static_cast<double>(batch);
    if (layer == 0.0) continue;
    flops += (first ? 2.0 : 3.0) * layer;
    first = false;
  }
  return flops;
}

struct Result {
  double step_ms, gflops, outside_share, optimizer_share;
};

Result run(const tessera_app::Preset& preset, std::int64_t batch, const std::string& optimizer, int steps,
           int repetitions) {
  constexpr std::int64_t kInputs = 784, kClasses = 10;
  tessera::Graph net = tessera_app::build_network(preset, tessera::Shape{kInputs}, kClasses);
  net.initialize(1, preset.init);
  // Small fixed rates: the step's cost, not its learning, is measured.
  auto opt =
      tessera_app::make_optimizer(optimizer, optimizer == "adam" ? 1e-3f : 0.01f, tessera::LRSchedule::constant(), net);
  const auto loss = tessera_app::make_loss(preset.loss);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  tessera::Tensor x(tessera::Shape{batch, kInputs});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = pixel(rng);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = static_cast<std::int32_t>(rng() % kClasses);

  double optimizer_seconds = 0.0;
  const auto step = [&] {
    opt->zero_grad();
    loss->compute(net.forward(x), labels, &net.output_gradient());
    net.backward(net.output_gradient());
    const auto start = Clock::now();
    opt->step();
    optimizer_seconds += seconds_since(start);
  };
  for (int i = 0; i < std::max(5, steps / 4); ++i) step();

  net.set_profiling(true);
  std::vector<double> step_s, outside, opt_share;
  for (int r = 0; r < repetitions; ++r) {
    net.reset_profile();
    optimizer_seconds = 0.0;
    const auto start = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    const double total = seconds_since(start);
    double gemm = 0.0;
    for (const auto& layer : net.profile()) gemm += layer.gemm_seconds;
    step_s.push_back(total / steps);
    outside.push_back(1.0 - gemm / total);
    opt_share.push_back(optimizer_seconds / total);
  }
  const double s = tessera::bench::median(step_s);
  return {1e3 * s, step_flops(net, batch) / s * 1e-9, tessera::bench::median(outside),
          tessera::bench::median(opt_share)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_train_step: one training step of the reference MLPs, and the share of it outside GEMM"};
  const int cores = tbb::info::default_concurrency();
  std::vector<int> threads{1, cores};
  if (cores == 1) threads = {1};
  std::vector<std::int64_t> batches{32, 128, 256};
  std::vector<std::string> optimizers{"sgd", "adam"};
  int steps = 40, repetitions = 7;
  app.add_option("--threads", threads, "thread counts")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--batch", batches, "batch sizes")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--optimizer", optimizers, "optimizers: sgd, momentum, adam")
      ->delimiter(',')
      ->check(CLI::IsMember({"sgd", "momentum", "adam"}));
  app.add_option("--steps", steps, "steps per repetition")->check(CLI::PositiveNumber);
  app.add_option("--repetitions", repetitions, "repetitions (the median is reported)")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  const std::vector<Network> networks{{"784-100-50-10 sigmoid/MSE", tessera_app::preset("seed")},
                                      {"784-512-256-10 ReLU/CE", tessera_app::preset("mlp")}};
  std::printf("isa %s, %d cores; medians of %d repetitions of %d steps\n\n",
              std::string(tessera::to_string(tessera::gemm_isa())).c_str(), cores, repetitions, steps);
  std::printf("%-27s %5s %3s %-5s %9s %9s %10s %8s %9s %9s\n", "network", "batch", "thr", "optim", "ms/step", "steps/s",
              "examples/s", "GFLOP/s", "non-GEMM", "optimizer");
  for (const auto& network : networks) {
    for (std::int64_t batch : batches) {
      for (const auto& optimizer : optimizers) {
        for (int t : threads) {
          tessera::ThreadLimit limit(t);
          const Result r = run(network.preset, batch, optimizer, steps, repetitions);
          std::printf("%-27s %5lld %3d %-5s %9.3f %9.0f %10.0f %8.1f %8.1f%% %8.1f%%\n", network.label.c_str(),
                      static_cast<long long>(batch), t, optimizer.c_str(), r.step_ms, 1e3 / r.step_ms,
                      1e3 / r.step_ms * static_cast<double>(batch), r.gflops, 100.0 * r.outside_share,
                      100.0 * r.optimizer_share);
          std::fflush(stdout);
        }
      }
    }
  }
  std::printf(
      "\nnon-GEMM: the part of the step not spent inside gemm calls (bias sums, activation derivatives,\n"
      "loss, optimizer, bookkeeping); optimizer: its share of the step.\n");
  return 0;
}
