// The array operations compiled for xsimd::fma3<xsimd::avx2>.
#define TESSERA_PER_ISA_FILE
#include "simd/array_kernels_impl.hpp"

namespace tessera::detail {

const ArrayKernels& array_kernels_avx2() { return make_array_kernels<xsimd::fma3<xsimd::avx2>>(); }

}  // namespace tessera::detail
