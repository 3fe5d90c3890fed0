// Dispatch and timing of the FMA peak measurement.
#include "fma_peak.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "tessera/cpu.hpp"

#include "fma_peak_kernel.hpp"

namespace tessera::bench {

double fma_burst_avx512(long iterations);
double fma_burst_avx2(long iterations);

double fma_burst(Isa isa, long iterations) {
  switch (isa) {
    case Isa::Avx512:
      return fma_burst_avx512(iterations);
    case Isa::Avx2:
      return fma_burst_avx2(iterations);
    case Isa::Generic:
      break;
  }
  // SSE2 has no FMA: a multiply and an add count as the same two flops.
  return fma_burst_impl<xsimd::sse2, 12>(iterations);
}

double measure_fma_peak(Isa isa, int threads) {
  constexpr long kIterations = 20'000'000;
  double best = 0.0;
  tbb::task_arena arena(threads);
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
    double flops = 0.0;
    arena.execute([&] {
      std::vector<double> per_thread(static_cast<std::size_t>(threads));
      tbb::parallel_for(
          0, threads, [&](int t) { per_thread[static_cast<std::size_t>(t)] = fma_burst(isa, kIterations); },
          tbb::static_partitioner());
      for (double f : per_thread) flops += f;
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, flops / seconds * 1e-9);
  }
  return best;
}

std::string machine_banner(const std::vector<std::pair<int, double>>& peaks) {
  std::string out =
      "machine: " + describe_machine() + "\nmeasured FMA peak (" + std::string(to_string(gemm_isa())) + "):";
  for (std::size_t i = 0; i < peaks.size(); ++i) {
    char figure[96];
    std::snprintf(figure, sizeof figure, "%s %.1f GFLOP/s at %d thread%s", i == 0 ? "" : ";", peaks[i].second,
                  peaks[i].first, peaks[i].first > 1 ? "s" : "");
    out += figure;
  }
  return out + "\n";
}

std::string machine_banner(const std::vector<int>& thread_counts) {
  std::vector<std::pair<int, double>> peaks;
  for (int t : thread_counts) peaks.emplace_back(t, measure_fma_peak(gemm_isa(), t));
  return machine_banner(peaks);
}

}  // namespace tessera::bench
