// AVX-512 kernels: 12×32 register tile (24 zmm accumulators, 2 for B, 1 broadcast of A, of 32).
#define TESSERA_PER_ISA_FILE
#include "gemm/kernel_impl.hpp"

namespace tessera::detail {

// Block sizes: kAvx512Rules (gemm/block_sizes.hpp) applied to the detected caches. Narrow products
// go to the 16-wide tile of kernel_avx512_16x16.cpp.
const KernelSet& kernel_set_avx512() {
  static const KernelSet set = make_kernel_set<xsimd::avx512f, 12, 32, 24>(Isa::Avx512, "avx512_12x32", kAvx512Rules,
                                                                           &kernel_set_avx512_narrow());
  return set;
}

}  // namespace tessera::detail
