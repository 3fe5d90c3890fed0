// The GEMM driver: blocking loops, packing buffers and the split of C among threads.
#pragma once

#include <cstdint>

#include "gemm/kernel_set.hpp"

namespace tessera::detail {

// A matrix as strides: element (r, c) at p[r*rs + c*cs]. Covers row-major, transposed and the
// swapped orientation without copies.
struct MatrixView {
  const float* p;
  std::int64_t rs, cs;
};

// Whether the epilogue does anything (a bias or an activation other than identity).
inline bool changes_c(const Epilogue& ep) { return ep.bias != nullptr || ep.activation != Activation::Identity; }

// C (row-major, ldc) = epilogue(alpha·A·B + beta·C) with A m×k and B k×n given as views; m, n, k > 0
// and alpha != 0 (the front end handles the rest).
void run_gemm(const KernelSet& kernels, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, MatrixView a,
              MatrixView b, float beta, float* c, std::int64_t ldc, const Epilogue& epilogue);

}  // namespace tessera::detail
