// Picks the array operations matching the GEMM engine's ISA, so TESSERA_ISA and set_gemm_isa() force
// them together with the GEMM kernels.
#include "isa_choice.hpp"
#include "simd/array_kernels.hpp"
#include "tessera/gemm.hpp"

namespace tessera::detail {

const ArrayKernels& active_array_kernels() {
  return table_for_isa(gemm_isa(), &array_kernels_avx512, &array_kernels_avx2, &array_kernels_generic);
}

}  // namespace tessera::detail
