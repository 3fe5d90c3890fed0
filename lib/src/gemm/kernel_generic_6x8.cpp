// Generic kernels for any x86-64 (SSE2, no FMA): 6×8 register tile (12 xmm accumulators of 16).
// Also the path every other ISA's results are tested against, besides the double reference.
#define TESSERA_PER_ISA_FILE
#include "gemm/kernel_impl.hpp"

namespace tessera::detail {

// Block sizes as for AVX2, scaled to the narrower tile: kc 256 (6 KiB A sliver, 8 KiB B sliver in
// L1), nc_l2 128 (a 128 KiB packed B block in a 256 KiB L2).
const KernelSet& kernel_set_generic() {
  static const KernelSet set = make_kernel_set<xsimd::sse2, 6, 8, 16>(Isa::Generic, "generic_sse2_6x8",
                                                                      BlockSizes{6, 8, 256, 128, 3072, 4096}, 48);
  return set;
}

}  // namespace tessera::detail
