// AVX-512 kernels: 12×32 register tile (24 zmm accumulators, 2 for B, 1 broadcast of A, of 32).
#define TESSERA_PER_ISA_FILE
#include "gemm/kernel_impl.hpp"

namespace tessera::detail {

// Block sizes for a Skylake-SP / Cascade Lake core (L1d 32 KiB, L2 1 MiB):
//  - kc 384: the A sliver the inner loop keeps re-reading (12×384 floats = 18 KiB) stays in L1 with
//    room for the B stream beside it, and each C tile is loaded and stored once per 384 FMAs steps.
//  - nc_l2 448: a packed B block of 384×448 floats (688 KiB) stays in the core's 1 MiB L2 while every
//    A sliver streams it.
//  - mc_l3 / nc_l3: packed panels are bounded to 3072×384 and 384×4096 floats (4.5 / 6 MiB).
const KernelSet& kernel_set_avx512() {
  static const KernelSet set = make_kernel_set<xsimd::avx512f, 12, 32, 24>(
      Isa::Avx512, "avx512_12x32", BlockSizes{12, 32, 384, 448, 3072, 4096}, 12);
  return set;
}

}  // namespace tessera::detail
