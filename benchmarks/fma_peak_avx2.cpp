// FMA peak with AVX2+FMA (compiled with -mavx2 -mfma only).
#include "fma_peak_kernel.hpp"

namespace tessera::bench {
double fma_burst_avx2(long iterations) { return fma_burst_impl<xsimd::fma3<xsimd::avx2>, 12>(iterations); }
}  // namespace tessera::bench
