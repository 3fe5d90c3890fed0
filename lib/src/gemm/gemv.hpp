// Products with a single row or column of output (batch-1 inference: y = x·W) as streaming loops
// that read each element of the matrix once, in place: the tiled path would pack the whole matrix for
// one row of output.
#pragma once

#include <cstdint>

#include "gemm/driver.hpp"
#include "gemm/kernel_set.hpp"

namespace tessera::detail {

// Computes C = alpha·A·B + beta·C when m == 1 or n == 1 and an operand layout allows streaming, and
// returns true; returns false (having done nothing) otherwise. The epilogue is the caller's.
bool run_gemv(const KernelSet& ks, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const MatrixView& a,
              const MatrixView& b, float beta, float* c, std::int64_t ldc);

}  // namespace tessera::detail
