// The array operations compiled for xsimd::sse2.
#define TESSERA_PER_ISA_FILE
#include "simd/array_kernels_impl.hpp"

namespace tessera::detail {

const ArrayKernels& array_kernels_generic() { return make_array_kernels<xsimd::sse2>(); }

}  // namespace tessera::detail
