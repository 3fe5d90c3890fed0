// The ArrayKernels table of one xsimd architecture. Only the simd/array_<isa>.cpp files include this.
#pragma once

#include "simd/array_kernels.hpp"
#include "simd/convert.hpp"
#include "simd/small_conv.hpp"
#include "simd/sparse.hpp"

namespace tessera::detail {
namespace {

template <class Arch>
const ArrayKernels& make_array_kernels() {
  static const ArrayKernels kernels{&sparse_rows<Arch>, &compress<Arch>, &transpose<Arch>, &bytes_to_floats<Arch>,
                                    &small_conv<Arch>};
  return kernels;
}

}  // namespace
}  // namespace tessera::detail
