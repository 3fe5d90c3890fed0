// bench_gemm: Tessera's SGEMM against OpenBLAS and oneDNN (when found) on square sizes and on every
// dense-layer shape of DESIGN.md and every convolution of the resnet preset (its im2col products),
// at 1 thread and at all threads, with the measured FMA peak.
// The libraries are interleaved per repetition: each repetition of a shape times every library once,
// one after another (in a rotating order), so that the machine's drift, which on a shared VM reaches
// ±30% within minutes, falls on all of them alike. The summary gives each library's median and the
// median over repetitions of Tessera ÷ the faster reference in that repetition.
//
//   bench_gemm [--shapes all|square|layers|convs] [--threads 1,2] [--filter REGEX] [--repetitions 5]
//              [--min-time 0.1]
#include <fmt/format.h>
#include <tbb/info.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "fma_peak.hpp"
#include "median.hpp"
#include "reference_blas.hpp"
#include "tessera/gemm.hpp"
#include "tessera/threading.hpp"

namespace tb = tessera::bench;
using tessera::Trans;

namespace {

struct Shape {
  std::string label;  // e.g. "fwd  784x512 B128"
  bool square;
  bool narrow;  // a side of 10 or 50: the shapes where every library stays far from peak
  Trans ta, tb;
  std::int64_t m, n, k;
  double flops() const { return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k); }
};

std::vector<Shape> make_shapes(const std::string& which) {
  std::vector<Shape> shapes;
  if (which == "all" || which == "square") {
    for (std::int64_t s : {64, 128, 256, 512, 1024, 2048}) {
      shapes.push_back({"square " + std::to_string(s), true, false, Trans::No, Trans::No, s, s, s});
    }
  }
  if (which == "all" || which == "convs") {
    // The resnet preset's convolutions as im2col products (pixels × out, depth kernel²·in), at batch 1
    // (inference) and 128 (training): narrow n of 16 to 64 channels.
    struct Conv {
      std::int64_t side, in, out, kernel;
    };
    const Conv convs[] = {{28, 1, 16, 3},  {28, 16, 16, 3}, {14, 16, 32, 3}, {14, 32, 32, 3},
                          {14, 16, 32, 1}, {7, 32, 64, 3},  {7, 64, 64, 3},  {7, 32, 64, 1}};
    for (std::int64_t b : {1, 128}) {
      for (const Conv& c : convs) {
        const std::string dims = std::to_string(c.side) + "² " + std::to_string(c.kernel) + "x" +
                                 std::to_string(c.kernel) + "x" + std::to_string(c.in) + "-" + std::to_string(c.out) +
                                 " B" + std::to_string(b);
        shapes.push_back({"conv " + dims, false, false, Trans::No, Trans::No, b * c.side * c.side, c.out,
                          c.kernel * c.kernel * c.in});
      }
    }
  }
  if (which == "all" || which == "layers") {
    const std::int64_t layers[][2] = {{784, 512}, {512, 256}, {256, 10}, {784, 100}, {100, 50}, {50, 10}};
    for (std::int64_t b : {32, 128, 256}) {
      for (const auto& l : layers) {
        const std::int64_t in = l[0], out = l[1];
        const bool narrow = in == 10 || in == 50 || out == 10 || out == 50;
        const std::string dims = std::to_string(in) + "x" + std::to_string(out) + " B" + std::to_string(b);
        shapes.push_back({"fwd  " + dims, false, narrow, Trans::No, Trans::No, b, out, in});
        shapes.push_back({"dW   " + dims, false, narrow, Trans::Yes, Trans::No, in, out, b});
        shapes.push_back({"dX   " + dims, false, narrow, Trans::No, Trans::Yes, b, in, out});
      }
    }
  }
  return shapes;
}

struct Operands {
  std::vector<float> a, b, c;
};

Operands make_operands(const Shape& s) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  Operands o{std::vector<float>(static_cast<std::size_t>(s.m * s.k)),
             std::vector<float>(static_cast<std::size_t>(s.k * s.n)),
             std::vector<float>(static_cast<std::size_t>(s.m * s.n))};
  for (auto* v : {&o.a, &o.b, &o.c}) {
    for (float& x : *v) x = d(rng);
  }
  return o;
}

// One contender: Tessera (lib == nullptr) or a reference library.
struct Contender {
  std::string name;
  const tb::GemmLibrary* lib;
};

// GFLOP/s of one library on one shape: calls repeated for at least min_time seconds, after one
// untimed call (packing buffers, the library's thread start).
double time_once(const Contender& who, const Shape& s, Operands& o, double min_time) {
  const std::int64_t lda = s.ta == Trans::Yes ? s.m : s.k, ldb = s.tb == Trans::Yes ? s.k : s.n;
  const auto call = [&] {
    if (who.lib != nullptr) {
      who.lib->sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, o.a.data(), lda, o.b.data(), ldb, 0.0f, o.c.data(), s.n);
    } else {
      tessera::gemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, o.a.data(), lda, o.b.data(), ldb, 0.0f, o.c.data(), s.n);
    }
  };
  call();
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  long calls = 0;
  double seconds = 0.0;
  do {
    call();
    ++calls;
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
  } while (seconds < min_time);
  return s.flops() * static_cast<double>(calls) / seconds * 1e-9;
}

// Sets every contender to `threads`; false (with the reason printed) if one cannot run that many.
bool set_threads(const std::vector<Contender>& all, int threads) {
  for (const Contender& c : all) {
    if (c.lib != nullptr && c.lib->set_threads(threads) != threads) {
      fmt::print("{} cannot run {} threads here: skipped\n", c.name, threads);
      return false;
    }
  }
  return true;
}

// libgomp reads OMP_WAIT_POLICY when it is loaded, before main: set it and start again. Passive
// waiting keeps oneDNN's idle OpenMP threads off the cores the next library is timed on. OpenBLAS
// reads OPENBLAS_CORETYPE likewise: where it took this CPU for an old one, name its best core, so that
// it is measured at its best. With TESSERA_ISA=avx2 the references are held to AVX2 as well
// (OPENBLAS_CORETYPE=Haswell, ONEDNN_MAX_CPU_ISA=AVX2), so that an AVX-512 machine measures the AVX2
// path against AVX2 code, as on a CPU without AVX-512.
void ensure_reference_environment(char** argv) {
  bool restart = false;
  const auto set_default = [&](const char* name, const char* value) {
    if (std::getenv(name) != nullptr) return;
    std::fprintf(stderr, "bench_gemm: %s=%s\n", name, value);
    setenv(name, value, 1);
    restart = true;
  };
  set_default("OMP_WAIT_POLICY", "passive");
  const char* forced = std::getenv("TESSERA_ISA");
  if (forced != nullptr && std::string(forced) == "avx2") {
    set_default("OPENBLAS_CORETYPE", "Haswell");
    set_default("ONEDNN_MAX_CPU_ISA", "AVX2");
  }
  if (const char* core = tb::openblas_better_core(); core != nullptr && std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    std::fprintf(stderr, "bench_gemm: OpenBLAS took this CPU for an old core; running it with OPENBLAS_CORETYPE=%s\n",
                 core);
    setenv("OPENBLAS_CORETYPE", core, 1);
    restart = true;
  }
  if (restart) execv("/proc/self/exe", argv);
}

struct Row {
  std::vector<double> medians;  // per contender, GFLOP/s
  double ratio = 0.0;           // median over repetitions of Tessera ÷ the faster reference
};

}  // namespace

int main(int argc, char** argv) {
  ensure_reference_environment(argv);
  const int all_threads = tbb::info::default_concurrency();
  std::string which = "all", filter;
  std::vector<int> thread_counts = {1};
  if (all_threads > 1) thread_counts.push_back(all_threads);
  int repetitions = 5;
  double min_time = 0.1;
  CLI::App app{"bench_gemm: Tessera's SGEMM against OpenBLAS and oneDNN, interleaved per repetition"};
  app.add_option("--shapes", which, "all, square, layers (dense) or convs")
      ->check(CLI::IsMember({"all", "square", "layers", "convs"}));
  app.add_option("--threads", thread_counts, "thread counts")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--filter", filter, "only the shapes whose label matches this regular expression");
  app.add_option("--repetitions", repetitions, "repetitions per shape (the median is reported)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--min-time", min_time, "seconds each library is timed for, per repetition")
      ->check(CLI::Range(0.001, 60.0));
  CLI11_PARSE(app, argc, argv);

  std::vector<Shape> shapes = make_shapes(which);
  if (!filter.empty()) {
    const std::regex re(filter);
    std::erase_if(shapes, [&](const Shape& s) { return !std::regex_search(s.label, re); });
  }
  const std::vector<tb::GemmLibrary> libs = tb::reference_libraries();
  std::vector<Contender> contenders{{"Tessera", nullptr}};
  for (const auto& lib : libs) contenders.push_back({lib.name, &lib});

  // The machine is shared and its clock moves: each peak is the best of a measurement before the
  // shapes and one after them.
  std::map<int, double> peak;
  for (int t : thread_counts) peak[t] = tb::measure_fma_peak(tessera::gemm_isa(), t);
  fmt::print("{}", tb::machine_banner(std::vector<std::pair<int, double>>(peak.begin(), peak.end())));
  fmt::print("references:");
  for (const auto& lib : libs) fmt::print(" {} {};", lib.name, lib.version);
  fmt::print("{}\n", libs.empty() ? " none found (install libopenblas-dev, libdnnl-dev)" : "");
  fmt::print("{} repetitions of at least {} s per library, interleaved\n", repetitions, min_time);
  std::fflush(stdout);

  std::map<std::pair<int, std::size_t>, Row> rows;
  for (int t : thread_counts) {
    if (!set_threads(contenders, t)) {
      peak.erase(t);  // no summary for a thread count not measured
      continue;
    }
    tessera::ThreadLimit limit(t);
    if (tessera::max_threads() != t) {
      fmt::print("Tessera cannot run {} threads here: skipped\n", t);
      peak.erase(t);
      continue;
    }
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const Shape& s = shapes[i];
      Operands o = make_operands(s);
      std::vector<std::vector<double>> gflops(contenders.size());
      std::vector<double> ratios;
      for (int rep = 0; rep < repetitions; ++rep) {
        std::vector<double> now(contenders.size());
        for (std::size_t j = 0; j < contenders.size(); ++j) {
          const std::size_t c = (j + static_cast<std::size_t>(rep)) % contenders.size();
          // Another runtime's idle threads spin for a while after its last call: let them park
          // before the next library is timed on the same cores.
          if (t > 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
          now[c] = time_once(contenders[c], s, o, min_time);
          gflops[c].push_back(now[c]);
        }
        if (contenders.size() > 1) ratios.push_back(now[0] / *std::max_element(now.begin() + 1, now.end()));
      }
      Row row;
      for (const auto& g : gflops) row.medians.push_back(tb::median(g));
      row.ratio = ratios.empty() ? 0.0 : tb::median(ratios);
      rows[{t, i}] = row;
      fmt::print("{:<22} {} thread{}: ", s.label, t, t > 1 ? "s" : " ");
      for (std::size_t c = 0; c < contenders.size(); ++c) fmt::print("{} {:.1f}  ", contenders[c].name, row.medians[c]);
      fmt::print("ratio {:.2f}x\n", row.ratio);
      std::fflush(stdout);
    }
    peak[t] = std::max(peak[t], tb::measure_fma_peak(tessera::gemm_isa(), t));
  }

  // Summary: one line per shape and thread count; targets from DESIGN.md and issue 16.
  for (auto [t, p] : peak) {
    fmt::print(
        "\nSummary, {} thread{} (median GFLOP/s; peak {:.1f}; ratio: median over repetitions of Tessera ÷ "
        "the faster reference)\n",
        t, t > 1 ? "s" : "", p);
    fmt::print("{:<22} {:>6} {:>6} {:>6} | {:>8} {:>6}", "shape", "m", "n", "k", "Tessera", "%peak");
    for (const auto& lib : libs) fmt::print(" {:>9}", lib.name);
    fmt::print(" | {:>7} {:>7}\n", "ratio", "target");
    int met_count = 0, targets = 0, below_08 = 0, layer_rows = 0;
    double log_sum = 0.0;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const auto it = rows.find({t, i});
      if (it == rows.end()) continue;
      const Shape& s = shapes[i];
      const Row& r = it->second;
      fmt::print("{:<22} {:>6} {:>6} {:>6} | {:>8.1f} {:>5.0f}%", s.label, s.m, s.n, s.k, r.medians[0],
                 100.0 * r.medians[0] / p);
      for (std::size_t c = 1; c < r.medians.size(); ++c) fmt::print(" {:>9.1f}", r.medians[c]);
      // >= 85% of peak on 512³..2048³ at one thread; >= the faster reference on every layer shape.
      std::string target = "-";
      bool met = true;
      if (s.square && s.m >= 512 && t == 1) {
        target = ">=85%pk";
        met = r.medians[0] >= 0.85 * p;
      } else if (!s.square && r.ratio > 0.0) {
        target = ">=1.0x";
        met = r.ratio >= 1.0;
        ++layer_rows;
        log_sum += std::log(r.ratio);
        below_08 += r.ratio < 0.8 ? 1 : 0;
      }
      if (target != "-") {
        ++targets;
        met_count += met ? 1 : 0;
      }
      fmt::print(" | {:>6.2f}x {:>7}{}\n", r.ratio, target, met ? "" : "  MISS");
    }
    fmt::print("{} of {} rows with a target meet it", met_count, targets);
    if (layer_rows > 0) {
      fmt::print("; layer shapes: geometric mean of the ratios {:.2f}x, {} below 0.8x", std::exp(log_sum / layer_rows),
                 below_08);
    }
    fmt::print("\n");
  }
  return 0;
}
