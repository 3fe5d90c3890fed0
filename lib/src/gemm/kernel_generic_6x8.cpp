// Generic kernels for any x86-64 (SSE2, no FMA): 6×8 register tile (12 xmm accumulators of 16).
// Also the path every other ISA's results are tested against, besides the double reference.
#define TESSERA_PER_ISA_FILE
#include "gemm/kernel_impl.hpp"

namespace tessera::detail {

// Block sizes: kGenericRules (gemm/block_sizes.hpp) applied to the detected caches.
const KernelSet& kernel_set_generic() {
  static const KernelSet set = make_kernel_set<xsimd::sse2, 6, 8, 16>(Isa::Generic, "generic_sse2_6x8", kGenericRules);
  return set;
}

}  // namespace tessera::detail
