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

#include "tessera/tessera.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct NetworkSpec {
  std::string name;
  std::vector<std::int64_t> widths;  // 784, hidden..., 10
  bool relu_ce;                      // ReLU + softmax cross-entropy; otherwise sigmoid + MSE
};

tessera::Sequential build(const NetworkSpec& spec) {
  tessera::Sequential net;
  for (std::size_t i = 0; i + 1 < spec.widths.size(); ++i) {
    net.add(tessera::Dense(spec.widths[i], spec.widths[i + 1]));
    const bool last = i + 2 == spec.widths.size();
    if (!spec.relu_ce) {
      net.add(tessera::Sigmoid());
    } else if (!last) {
      net.add(tessera::ReLU());
    }
  }
  net.initialize(1, spec.relu_ce ? tessera::Init::He : tessera::Init::XavierUniform);
  return net;
}

// GEMM work of one step: forward and dW for every layer, dX for all but the first.
double step_flops(const NetworkSpec& spec, std::int64_t batch) {
  double flops = 0.0;
  for (std::size_t i = 0; i + 1 < spec.widths.size(); ++i) {
    const double layer = 2.0 * static_cast<double>(batch * spec.widths[i] * spec.widths[i + 1]);
    flops += (i == 0 ? 2.0 : 3.0) * layer;
  }
  return flops;
}

std::unique_ptr<tessera::Optimizer> make_optimizer(const std::string& name, tessera::Sequential& net) {
  if (name == "sgd") return std::make_unique<tessera::SGD>(net, tessera::SGDOptions(0.01f));
  if (name == "momentum") return std::make_unique<tessera::SGD>(net, tessera::SGDOptions(0.01f).momentum(0.9f));
  return std::make_unique<tessera::Adam>(net, tessera::AdamOptions(1e-3f));
}

struct Result {
  double step_ms, gflops, outside_share, optimizer_share;
};

Result run(const NetworkSpec& spec, std::int64_t batch, const std::string& optimizer, int steps, int repetitions) {
  tessera::Sequential net = build(spec);
  auto opt = make_optimizer(optimizer, net);
  std::unique_ptr<tessera::Loss> loss;
  if (spec.relu_ce) {
    loss = std::make_unique<tessera::SoftmaxCrossEntropy>();
  } else {
    loss = std::make_unique<tessera::MSE>();
  }
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  tessera::Tensor x(tessera::Shape{batch, spec.widths.front()});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = pixel(rng);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = static_cast<std::int32_t>(rng() % 10);

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
  const double s = median(step_s);
  return {1e3 * s, step_flops(spec, batch) / s * 1e-9, median(outside), median(opt_share)};
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

  const std::vector<NetworkSpec> networks{{"784-100-50-10 sigmoid/MSE", {784, 100, 50, 10}, false},
                                          {"784-512-256-10 ReLU/CE", {784, 512, 256, 10}, true}};
  std::printf("isa %s, %d cores; medians of %d repetitions of %d steps\n\n",
              std::string(tessera::to_string(tessera::gemm_isa())).c_str(), cores, repetitions, steps);
  std::printf("%-27s %5s %3s %-5s %9s %9s %10s %8s %9s %9s\n", "network", "batch", "thr", "optim", "ms/step", "steps/s",
              "examples/s", "GFLOP/s", "non-GEMM", "optimizer");
  for (const auto& spec : networks) {
    for (std::int64_t batch : batches) {
      for (const auto& optimizer : optimizers) {
        for (int t : threads) {
          tessera::ThreadLimit limit(t);
          const Result r = run(spec, batch, optimizer, steps, repetitions);
          std::printf("%-27s %5lld %3d %-5s %9.3f %9.0f %10.0f %8.1f %8.1f%% %8.1f%%\n", spec.name.c_str(),
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
