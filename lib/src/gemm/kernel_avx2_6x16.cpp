// AVX2+FMA kernels: 6×16 register tile (12 ymm accumulators, 2 for B, 1 broadcast of A, of 16).
#define TESSERA_PER_ISA_FILE
#include "gemm/kernel_impl.hpp"

namespace tessera::detail {

// Block sizes for a Haswell-class core (L1d 32 KiB, L2 256 KiB):
//  - kc 256: the 6×256 A sliver (6 KiB) and the 256×16 B sliver (16 KiB) fit L1 together.
//  - nc_l2 160: a packed B block of 256×160 floats (160 KiB) stays in the 256 KiB L2.
//  - mc_l3 / nc_l3: packed panels bounded to 3072×256 and 256×4096 floats.
const KernelSet& kernel_set_avx2() {
  static const KernelSet set = make_kernel_set<xsimd::fma3<xsimd::avx2>, 6, 16, 16>(
      Isa::Avx2, "avx2_6x16", BlockSizes{6, 16, 256, 160, 3072, 4096}, 48);
  return set;
}

}  // namespace tessera::detail
