// The machine's measured single-precision FMA peak, for "% of peak" in the benchmark tables.
#pragma once

#include "tessera/gemm.hpp"

namespace tessera::bench {

// Runs `iterations` rounds of independent FMAs on one thread with the given ISA; returns the flops done.
double fma_burst(Isa isa, long iterations);

// GFLOP/s of `threads` threads each running fma bursts at once: the best of a few tries.
double measure_fma_peak(Isa isa, int threads);

}  // namespace tessera::bench
