// Picks the optimizer kernels matching the GEMM engine's ISA, so TESSERA_ISA and set_gemm_isa() force
// both together.
#include "optim/update_kernels.hpp"
#include "tessera/gemm.hpp"

namespace tessera::detail {

const UpdateKernels& active_update_kernels() {
  switch (gemm_isa()) {
    case Isa::Avx512:
      return update_kernels_avx512();
    case Isa::Avx2:
      return update_kernels_avx2();
    case Isa::Generic:
      break;
  }
  return update_kernels_generic();
}

}  // namespace tessera::detail
