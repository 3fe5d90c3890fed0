// FMA peak with AVX-512 (compiled with -mavx512f -mfma only).
#include "fma_peak_kernel.hpp"

namespace tessera::bench {
double fma_burst_avx512(long iterations) { return fma_burst_impl<xsimd::avx512f, 24>(iterations); }
}  // namespace tessera::bench
