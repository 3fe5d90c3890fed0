// The machine's measured single-precision FMA peak, for "% of peak" in the benchmark tables.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tessera/gemm.hpp"

namespace tessera::bench {

// Runs `iterations` rounds of independent FMAs on one thread with the given ISA; returns the flops done.
double fma_burst(Isa isa, long iterations);

// GFLOP/s of `threads` threads each running fma bursts at once: the best of a few tries.
double measure_fma_peak(Isa isa, int threads);

// Where a benchmark ran, for the top of its output: the CPU model, logical CPUs, the GEMM's ISA,
// kernel and block sizes, the detected caches, and the FMA peak at each thread count (measured now,
// or given as (threads, GFLOP/s) by a caller that keeps the figures).
std::string machine_banner(const std::vector<int>& thread_counts);
std::string machine_banner(const std::vector<std::pair<int, double>>& peaks);

}  // namespace tessera::bench
