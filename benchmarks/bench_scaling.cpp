// bench_scaling: how Tessera's throughput grows with the thread count. Runs the GEMM shapes of
// DESIGN.md, training epochs of the app's presets and inference at batch 1000, at 1, 2, 3, ... threads
// up to the machine's cores and then twice that (oversubscribed); prints throughput, speedup over one
// thread and parallel efficiency (medians over rounds that run every thread count in turn); writes a
// CSV and a gnuplot script, and renders PNG charts of speedup against threads (with the ideal line)
// when gnuplot is installed.
//
//   bench_scaling [--data DIR] [--threads 1,2,4] [--models seed,mlp,cnn] [--limit-train N]
//                 [--repeats 3] [--out DIR] [--no-gemm] [--no-train] [--no-inference]
#include <fmt/format.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fma_peak.hpp"
#include "median.hpp"
#include "preset_runs.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string data = tessera_app::default_data_dir();
  std::vector<int> threads;
  std::vector<std::string> models{"seed", "mlp", "cnn"};
  std::int64_t limit_train = 0;
  int repeats = 3;
  std::string out = "bench_scaling-out";
  bool gemm = true, train = true, inference = true;
};

// One thing measured at every thread count: `run` returns its throughput (higher is better).
struct Benchmark {
  std::string name;  // no spaces: gnuplot takes it as a word
  std::string group;
  std::string unit;
  std::function<double()> run;  // one measurement
};

struct Result {
  std::string name, group, unit;
  int threads;
  double value, speedup, efficiency;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// GFLOP/s of C[m×n] = op(A)·op(B) over enough calls for 50 ms.
double gemm_gflops(tessera::Trans ta, tessera::Trans tb, std::int64_t m, std::int64_t n, std::int64_t k) {
  std::vector<float> a(static_cast<std::size_t>(m * k), 0.5f), b(static_cast<std::size_t>(k * n), 0.25f),
      c(static_cast<std::size_t>(m * n));
  const std::int64_t lda = ta == tessera::Trans::Yes ? m : k, ldb = tb == tessera::Trans::Yes ? k : n;
  auto call = [&] { tessera::gemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n); };
  call();
  std::int64_t calls = 0;
  const auto start = Clock::now();
  do {
    call();
    ++calls;
  } while (seconds_since(start) < 0.05);
  return 2e-9 * static_cast<double>(m * n * k) * static_cast<double>(calls) / seconds_since(start);
}

std::vector<Benchmark> benchmarks(const Options& o, const tessera::data::Split& data) {
  using tessera::Trans;
  std::vector<Benchmark> out;
  if (o.gemm) {
    struct Shape {
      const char* name;
      Trans ta, tb;
      std::int64_t m, n, k;
    };
    // Square for peak; the largest MNIST layer's three products at batch 128 and 256; narrower layers.
    for (const Shape s : {Shape{"gemm_1024^3", Trans::No, Trans::No, 1024, 1024, 1024},
                          Shape{"gemm_256^3", Trans::No, Trans::No, 256, 256, 256},
                          Shape{"784x512_forward_b128", Trans::No, Trans::No, 128, 512, 784},
                          Shape{"784x512_weights_b128", Trans::Yes, Trans::No, 784, 512, 128},
                          Shape{"784x512_inputs_b128", Trans::No, Trans::Yes, 128, 784, 512},
                          Shape{"784x512_forward_b256", Trans::No, Trans::No, 256, 512, 784},
                          Shape{"512x256_forward_b128", Trans::No, Trans::No, 128, 256, 512},
                          Shape{"784x100_forward_b128", Trans::No, Trans::No, 128, 100, 784}}) {
      out.push_back({s.name, "gemm", "GFLOP/s", [s] { return gemm_gflops(s.ta, s.tb, s.m, s.n, s.k); }});
    }
  }
  const tessera::data::Dataset train = o.limit_train > 0 ? data.train.head(o.limit_train) : data.train;
  if (o.train) {
    for (const auto& model : o.models) {
      for (std::int64_t batch : model == "mlp" ? std::vector<std::int64_t>{128, 256} : std::vector<std::int64_t>{128}) {
        const auto& preset = tessera_app::preset(model);
        out.push_back({"train_" + model + "_b" + std::to_string(batch), "train", "examples/s", [train, &preset, batch] {
                         return tessera::bench::epoch_rates(train, preset, batch, 1).front();
                       }});
      }
    }
  }
  if (o.inference) {
    for (const auto& model : o.models) {
      const auto& preset = tessera_app::preset(model);
      out.push_back({"inference_" + model + "_b1000", "inference", "images/s",
                     [&data, &preset] { return tessera::bench::inference_rates(data.test, preset, 1000, 1).front(); }});
    }
  }
  return out;
}

// Runs fn on exactly `threads` threads: an arena of that size under a limit that lets oneTBB start
// more workers than there are cores (the oversubscribed runs).
double on_threads(int threads, const std::function<double()>& fn) {
  tessera::ThreadLimit limit(threads);
  tbb::task_arena arena(threads);
  double value = 0.0;
  arena.execute([&] { value = fn(); });
  return value;
}

void write_gnuplot(const std::filesystem::path& dir, const std::vector<Result>& results, int cores) {
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& r : results) {
    auto& names = groups[r.group];
    if (std::find(names.begin(), names.end(), r.name) == names.end()) names.push_back(r.name);
  }
  std::ofstream gp(dir / "scaling.gp");
  gp << "# Speedup against threads, one chart per group: gnuplot scaling.gp (in this folder).\n"
     << "set datafile separator ','\nset terminal pngcairo size 900,600 noenhanced\nset key top left\n"
     << "set xlabel 'threads'\nset ylabel 'speedup over 1 thread'\nset grid\nset samples 1000\n"
     << "cores = " << cores << "\n";
  for (const auto& [group, names] : groups) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
    gp << "set output 'scaling-" << group << ".png'\n"
       << "set title 'Tessera scaling: " << group << " (" << cores << " cores; beyond them, oversubscribed)'\n"
       << "plot [1:] [0:cores * 1.15] x < cores ? x : cores with lines dashtype 2 lc 'gray' title 'ideal', \\\n"
       << "  for [b in '" << list << "'] 'scaling.csv' using (strcol(1) eq b ? $4 : 1/0):6 with linespoints title b\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const int cores = tbb::info::default_concurrency();
  for (int t = 1; t <= cores; ++t) o.threads.push_back(t);
  o.threads.push_back(2 * cores);
  CLI::App app{"bench_scaling: throughput, speedup and efficiency of Tessera from 1 thread to twice the cores"};
  app.add_option("--data", o.data, "folder of the MNIST files");
  app.add_option("--threads", o.threads, "thread counts (default: 1 to the cores, then twice the cores)")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  app.add_option("--models", o.models, "presets to train and run")
      ->delimiter(',')
      ->check(CLI::IsMember(tessera_app::preset_names()));
  app.add_option("--limit-train", o.limit_train, "train on the first N images only (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", o.repeats, "measurements per point (the median is reported)")->check(CLI::Range(1, 100));
  app.add_option("--out", o.out, "folder for scaling.csv, scaling.gp and the charts");
  app.add_flag("!--no-gemm", o.gemm, "skip the GEMM shapes");
  app.add_flag("!--no-train", o.train, "skip the training epochs");
  app.add_flag("!--no-inference", o.inference, "skip inference");
  CLI11_PARSE(app, argc, argv);

  try {
    const tessera::data::Split data = tessera::data::load_mnist(o.data);
    const auto list = benchmarks(o, data);
    fmt::print("bench_scaling: {}threads {}; median of {} interleaved rounds; training on {} images\n\n",
               tessera::bench::machine_banner({1, cores}), fmt::join(o.threads, ","), o.repeats,
               o.limit_train > 0 ? std::min(o.limit_train, data.train.size()) : data.train.size());
    fmt::print("{:<26} {:>7} {:>14} {:<11} {:>8} {:>10}\n", "benchmark", "threads", "throughput", "", "speedup",
               "efficiency");
    std::vector<Result> results;
    const std::size_t counts = o.threads.size();
    for (const auto& b : list) {
      // Rounds of every thread count in turn: the machine's speed drifts (a shared VM's by tens of
      // percent over a minute), and a speedup is best taken between measurements made side by side.
      // Each round's speedups are over that round's first thread count (as if it scaled linearly up
      // to there, when it is not 1); the medians over rounds are reported.
      std::vector<std::vector<double>> values(counts), speedups(counts);
      for (int round = 0; round < o.repeats; ++round) {
        double base = 0.0;
        for (std::size_t i = 0; i < counts; ++i) {
          const int t = o.threads[i];
          const double v = on_threads(t, b.run);
          if (i == 0) base = v / t;
          values[i].push_back(v);
          speedups[i].push_back(v / base);
        }
      }
      for (std::size_t i = 0; i < counts; ++i) {
        const int t = o.threads[i];
        const double v = tessera::bench::median(values[i]);
        const double speedup = tessera::bench::median(speedups[i]);
        const double efficiency = speedup / std::min(t, cores);
        results.push_back({b.name, b.group, b.unit, t, v, speedup, efficiency});
        fmt::print("{:<26} {:>7} {:>14.1f} {:<11} {:>7.2f}x {:>9.0f}%\n", b.name, t, v, b.unit, speedup,
                   100.0 * efficiency);
      }
      std::fflush(stdout);
    }
    const std::filesystem::path dir(o.out);
    std::filesystem::create_directories(dir);
    {
      std::ofstream csv(dir / "scaling.csv");
      csv << "benchmark,group,unit,threads,value,speedup,efficiency\n";
      for (const auto& r : results) {
        csv << fmt::format("{},{},{},{},{:.3f},{:.4f},{:.4f}\n", r.name, r.group, r.unit, r.threads, r.value, r.speedup,
                           r.efficiency);
      }
    }
    write_gnuplot(dir, results, cores);
    fmt::print("\nWrote {}/scaling.csv and {}/scaling.gp\n", dir.string(), dir.string());
    const std::string plot = "cd '" + dir.string() + "' && gnuplot scaling.gp 2>/dev/null";
    if (std::system("command -v gnuplot >/dev/null 2>&1") == 0 && std::system(plot.c_str()) == 0) {
      fmt::print("Charts: {}/scaling-*.png\n", dir.string());
    } else {
      fmt::print("No charts: gnuplot is not installed (Debian: gnuplot-nox); run gnuplot scaling.gp there later\n");
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_scaling: error: {}\n", e.what());
    return 2;
  }
  return 0;
}
