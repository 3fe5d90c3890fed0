// The optimizer updates compiled for xsimd::fma3<xsimd::avx2>.
#include "optim/update_impl.hpp"

namespace tessera::detail {

const UpdateKernels& update_kernels_avx2() { return make_update_kernels<xsimd::fma3<xsimd::avx2>>(); }

}  // namespace tessera::detail
