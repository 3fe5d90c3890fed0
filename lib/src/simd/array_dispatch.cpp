// Picks the array operations matching the GEMM engine's ISA, so TESSERA_ISA and set_gemm_isa() force
// them together with the GEMM kernels.
#include "simd/array_kernels.hpp"
#include "tessera/gemm.hpp"

namespace tessera::detail {

const ArrayKernels& active_array_kernels() {
  switch (gemm_isa()) {
    case Isa::Avx512:
      return array_kernels_avx512();
    case Isa::Avx2:
      return array_kernels_avx2();
    case Isa::Generic:
      break;
  }
  return array_kernels_generic();
}

}  // namespace tessera::detail
