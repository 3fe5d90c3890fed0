// AVX-512 kernels one vector wide: a 16×16 register tile (16 zmm accumulators, 1 for B, 1 broadcast
// of A), for products with C 16 columns wide or so, which the 12×32 tile would half fill.
#define TESSERA_PER_ISA_FILE
#include "gemm/kernel_impl.hpp"

namespace tessera::detail {

// Block sizes: kAvx512NarrowRules (gemm/block_sizes.hpp) applied to the detected caches.
const KernelSet& kernel_set_avx512_narrow() {
  static const KernelSet set =
      make_kernel_set<xsimd::avx512f, 16, 16, 24>(Isa::Avx512, "avx512_16x16", kAvx512NarrowRules);
  return set;
}

}  // namespace tessera::detail
