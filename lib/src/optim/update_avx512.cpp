// The optimizer updates compiled for xsimd::avx512f.
#include "optim/update_impl.hpp"

namespace tessera::detail {

const UpdateKernels& update_kernels_avx512() { return make_update_kernels<xsimd::avx512f>(); }

}  // namespace tessera::detail
