// The optimizer updates compiled for xsimd::sse2.
#include "optim/update_impl.hpp"

namespace tessera::detail {

const UpdateKernels& update_kernels_generic() { return make_update_kernels<xsimd::sse2>(); }

}  // namespace tessera::detail
