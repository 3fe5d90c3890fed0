// AVX2+FMA kernels: 6×16 register tile (12 ymm accumulators, 2 for B, 1 broadcast of A, of 16).
#define TESSERA_PER_ISA_FILE
#include "gemm/kernel_impl.hpp"

namespace tessera::detail {

// Block sizes: kAvx2Rules (gemm/block_sizes.hpp) applied to the detected caches.
const KernelSet& kernel_set_avx2() {
  static const KernelSet set = make_kernel_set<xsimd::fma3<xsimd::avx2>, 6, 16, 16>(Isa::Avx2, "avx2_6x16", kAvx2Rules);
  return set;
}

}  // namespace tessera::detail
