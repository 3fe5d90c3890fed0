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

// The tile (the ISA's set or its narrow one) and orientation (swapped: Cᵀ = Bᵀ·Aᵀ) a product of
// this shape runs with: by shape and ISA alone, so results never depend on the thread count.
struct KernelChoice {
  const KernelSet* kernels;
  bool swapped;
};
KernelChoice choose_kernels(const KernelSet& isa_kernels, std::int64_t m, std::int64_t n, std::int64_t k);

// C (row-major, ldc) = epilogue(alpha·A·B + beta·C) with A m×k and B k×n given as views; m, n, k > 0
// and alpha != 0 (the front end handles the rest).
void run_gemm(const KernelSet& isa_kernels, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, MatrixView a,
              MatrixView b, float beta, float* c, std::int64_t ldc, const Epilogue& epilogue);

// gemm() for an A whose rows may overlap (lda < k, which gemm() refuses as BLAS does): a convolution
// reading shifted rows of an image in place. C = epilogue(A·B + beta·C) with A(i, p) at a[i·lda + p]
// and B row-major (ldb); m, n, k > 0. Runs on the active kernel set.
void gemm_overlapping_rows(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                           const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
                           const Epilogue& epilogue);

}  // namespace tessera::detail
