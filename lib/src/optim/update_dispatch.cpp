// Picks the optimizer kernels matching the GEMM engine's ISA, so TESSERA_ISA and set_gemm_isa() force
// both together.
#include "isa_choice.hpp"
#include "optim/update_kernels.hpp"
#include "tessera/gemm.hpp"

namespace tessera::detail {

const UpdateKernels& active_update_kernels() {
  return table_for_isa(gemm_isa(), &update_kernels_avx512, &update_kernels_avx2, &update_kernels_generic);
}

}  // namespace tessera::detail
