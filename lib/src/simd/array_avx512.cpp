// The array operations compiled for xsimd::avx512f.
#define TESSERA_PER_ISA_FILE
#include "simd/array_kernels_impl.hpp"

namespace tessera::detail {

const ArrayKernels& array_kernels_avx512() { return make_array_kernels<xsimd::avx512f>(); }

}  // namespace tessera::detail
