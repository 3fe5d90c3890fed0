// bench_tabular: training throughput on a generated regression table (by default a million rows of 20
// features, y a fixed nonlinear function of them plus noise), the app's table network (Standardize,
// Dense 64, ReLU, Dense 32, ReLU, Dense 1) with Adam and MSE; examples/s per epoch, as JSON lines for
// compare_tabular.py, which trains the same network in PyTorch in the same run.
//
//   bench_tabular [--rows 1000000] [--features 20] [--batch 128] [--threads 1] [--epochs 3] [--json]
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <vector>

#include "median.hpp"
#include "tessera/tessera.hpp"

int main(int argc, char** argv) {
  std::int64_t rows = 1000000, batch = 128;
  int features = 20, threads = 1, epochs = 3;
  bool json = false;
  CLI::App app{"bench_tabular: examples/s training an MLP on a generated regression table"};
  app.add_option("--rows", rows)->check(CLI::PositiveNumber);
  app.add_option("--features", features)->check(CLI::Range(2, 1000));
  app.add_option("--batch", batch)->check(CLI::PositiveNumber);
  app.add_option("--threads", threads)->check(CLI::Range(1, 4096));
  app.add_option("--epochs", epochs)->check(CLI::Range(1, 1000));
  app.add_flag("--json", json);
  CLI11_PARSE(app, argc, argv);

  // The table: x uniform in [-2, 2], y = Σ_j w_j·x_j + sin(x0·x1) + x2² / 2 + noise.
  tessera::Rng rng(3, 0);
  std::vector<float> x(static_cast<std::size_t>(rows * features)), y(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x.data() + r * features;
    double target = 0.0;
    for (int j = 0; j < features; ++j) {
      row[j] = static_cast<float>(rng.uniform(-2.0, 2.0));
      target += (0.5 - 0.05 * j) * static_cast<double>(row[j]);
    }
    target += std::sin(static_cast<double>(row[0] * row[1])) + 0.5 * static_cast<double>(row[2] * row[2]);
    y[static_cast<std::size_t>(r)] = static_cast<float>(target + rng.uniform(-0.1, 0.1));
  }
  const tessera::data::Dataset table(std::move(x), tessera::Shape{features},
                                     tessera::data::Targets::values(std::move(y)));

  tessera::ThreadLimit limit(threads);
  tessera::Standardize standardize(features);
  standardize.fit(table);
  tessera::Sequential net(standardize, tessera::Dense(features, 64), tessera::ReLU(), tessera::Dense(64, 32),
                          tessera::ReLU(), tessera::Dense(32, 1));
  net.initialize(1, tessera::Init::He);
  tessera::Adam opt(net, tessera::AdamOptions(1e-3f));
  tessera::TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.progress = tessera::Progress::None;
  std::vector<double> rates;
  o.on_epoch = [&](const tessera::EpochStats& s) { rates.push_back(s.examples_per_second); };
  const auto history = tessera::Trainer(net, tessera::MSE(), opt, o).fit(table, nullptr);
  const double median = tessera::bench::median(rates);
  if (json) {
    fmt::print(
        R"({{"kind": "train", "rows": {}, "features": {}, "batch": {}, "threads": {}, "examples_per_second": {:.1f}, "train_loss": {:.6g}}})"
        "\n",
        rows, features, batch, tessera::max_threads(), median, history.back().train.loss);
  } else {
    fmt::print(
        "{} rows × {} features, batch {}, {} thread{}: {:.0f} examples/s (median of {} epochs), last loss "
        "{:.4g}\n",
        rows, features, batch, tessera::max_threads(), tessera::max_threads() == 1 ? "" : "s", median, epochs,
        history.back().train.loss);
  }
  return 0;
}
