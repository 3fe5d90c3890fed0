// bench_train: whole-epoch training throughput of the app's presets on MNIST, at several batch sizes
// and thread counts (median of 3 epochs), and inference: latency at batch 1 (median over the test
// set) and throughput at batch 1000.
//
//   bench_train [--data DIR] [--models seed,mlp,cnn] [--batch 32,128,256] [--threads 1,2] [--epochs 3]
//               [--no-inference] [--json]
//   bench_train --load FILE [--threads 1]   batch-1 latency of a model file (Tessera's or .onnx) only
// --json prints one JSON object per measurement (compare_pytorch.py reads them).
#include <fmt/format.h>
#include <sys/resource.h>
#include <tbb/info.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "../apps/tessera/model_files.hpp"
#include "../apps/tessera/presets.hpp"
#include "fma_peak.hpp"
#include "median.hpp"
#include "preset_runs.hpp"
#include "tessera/tessera.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string data = tessera_app::default_data_dir();
  std::vector<std::string> models{"seed", "mlp", "cnn"};
  std::vector<std::int64_t> batches{32, 128, 256};
  std::vector<int> threads;
  int epochs = 3;
  bool inference = true;
  bool json = false;
};

struct InferenceResult {
  double latency_us;       // batch 1, median over the test set
  double batch1000_per_s;  // images per second at batch 1000
};

// Microseconds per forward pass of one test image, the median over the test set.
double batch1_latency_us(tessera::Graph& net, const tessera::data::Dataset& test) {
  const auto order = test.sequential_order();
  std::int32_t label = 0;
  tessera::Tensor one(net.in_shape().with_batch(1));
  std::vector<double> latencies;
  for (std::int64_t i = 0; i < test.size(); ++i) {
    test.gather(order, i, one, std::span<std::int32_t>(&label, 1));
    const auto start = Clock::now();
    net.forward(one);
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return tessera::bench::median(latencies);
}

InferenceResult inference(const tessera::data::Split& data, const tessera_app::Preset& preset) {
  tessera::Graph net = tessera::bench::inference_network(data.test, preset);
  return {batch1_latency_us(net, data.test),
          tessera::bench::median(tessera::bench::inference_rates(data.test, preset, 1000, 3))};
}

// The largest resident set of this process so far (the MNIST arrays included).
double max_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const int cores = tbb::info::default_concurrency();
  o.threads = cores > 1 ? std::vector<int>{1, cores} : std::vector<int>{1};
  CLI::App app{"bench_train: epoch throughput and inference speed of tessera-mnist's presets on MNIST"};
  app.add_option("--data", o.data, "folder of the MNIST files");
  app.add_option("--models", o.models, "presets")->delimiter(',')->check(CLI::IsMember(tessera_app::preset_names()));
  app.add_option("--batch", o.batches, "batch sizes")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "thread counts")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--epochs", o.epochs, "epochs per measurement (the median is reported)")->check(CLI::PositiveNumber);
  app.add_flag("!--no-inference", o.inference, "skip the inference measurements");
  app.add_flag("--json", o.json, "one JSON object per line instead of a table");
  std::string load;
  app.add_option("--load", load, "measure only the batch-1 latency of this model file (Tessera's or FILE.onnx)");
  bool machine_only = false;
  app.add_flag("--machine", machine_only, "print where it runs (CPU, caches, block sizes, FMA peak) and exit");
  CLI11_PARSE(app, argc, argv);
  if (machine_only) {
    fmt::print("{}", tessera::bench::machine_banner(o.threads));
    return 0;
  }

  try {
    const tessera::data::Split data = tessera::data::load_mnist(o.data);
    if (!load.empty()) {
      tessera::Graph net = std::move(tessera_app::load_any_model(load).network);
      net.eval();
      for (int t : o.threads) {
        tessera::ThreadLimit limit(t);
        fmt::print(R"({{"kind": "inference", "model": "{}", "threads": {}, "latency_us": {:.2f}}})"
                   "\n",
                   load, t, batch1_latency_us(net, data.test));
        std::fflush(stdout);
      }
      return 0;
    }
    if (!o.json) {
      fmt::print("{}epochs of {} examples, median of {}\n\n", tessera::bench::machine_banner(o.threads),
                 data.train.size(), o.epochs);
      fmt::print("{:<6} {:>6} {:>8} {:>12} {:>12} {:>12}\n", "model", "batch", "threads", "examples/s", "min", "max");
    }
    for (const auto& name : o.models) {
      const auto& preset = tessera_app::preset(name);
      for (std::int64_t batch : o.batches) {
        for (int t : o.threads) {
          tessera::ThreadLimit limit(t);
          const auto rates = tessera::bench::epoch_rates(data.train, preset, batch, o.epochs);
          const double med = tessera::bench::median(rates);
          if (o.json) {
            fmt::print(
                R"({{"kind": "train", "model": "{}", "batch": {}, "threads": {}, "examples_per_second": {:.1f}, )"
                R"("max_rss_mib": {:.1f}}})"
                "\n",
                name, batch, t, med, max_rss_mib());
          } else {
            fmt::print("{:<6} {:>6} {:>8} {:>12.0f} {:>12.0f} {:>12.0f}\n", name, batch, t, med,
                       *std::min_element(rates.begin(), rates.end()), *std::max_element(rates.begin(), rates.end()));
          }
          std::fflush(stdout);
        }
      }
    }
    if (o.inference) {
      if (!o.json)
        fmt::print("\n{:<6} {:>8} {:>22} {:>22}\n", "model", "threads", "batch 1: us/image", "batch 1000: images/s");
      for (const auto& name : o.models) {
        for (int t : o.threads) {
          tessera::ThreadLimit limit(t);
          const InferenceResult r = inference(data, tessera_app::preset(name));
          if (o.json) {
            fmt::print(
                R"({{"kind": "inference", "model": "{}", "threads": {}, "latency_us": {:.2f}, "batch1000_per_second": {:.0f}}})"
                "\n",
                name, t, r.latency_us, r.batch1000_per_s);
          } else {
            fmt::print("{:<6} {:>8} {:>22.2f} {:>22.0f}\n", name, t, r.latency_us, r.batch1000_per_s);
          }
          std::fflush(stdout);
        }
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_train: error: {}\n", e.what());
    return 2;
  }
  return 0;
}
