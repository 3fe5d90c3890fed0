// Single-row and single-column products: the layout checks and the split of outputs over threads.
#include "gemm/gemv.hpp"

#include <algorithm>

#include "parallel.hpp"

namespace tessera::detail {

namespace {
// Outputs per task: a multiple of 128 (eight AVX-512 vectors, so a split never moves an output between
// the vector and scalar code) holding at least 64 Ki multiply-adds.
std::int64_t outputs_per_task(std::int64_t k) {
  const std::int64_t want = (std::int64_t{1} << 16) / std::max<std::int64_t>(1, k);
  return std::max<std::int64_t>(128, (want + 127) / 128 * 128);
}

// y[j·incy] for j in [0, n), split over threads.
void streamed(GemvRows kernel, std::int64_t n, std::int64_t k, float alpha, const float* x, std::int64_t incx,
              const float* mat, std::int64_t ld, bool rows, float beta, float* y, std::int64_t incy) {
  for_each_chunk(n, outputs_per_task(k), [&](std::int64_t begin, std::int64_t end) {
    // Rows form: output j is column j of the matrix; dots form: row j.
    const float* first = rows ? mat + begin : mat + begin * ld;
    kernel(end - begin, k, alpha, x, incx, first, ld, beta, y + begin * incy, incy);
  });
}
}  // namespace

bool run_gemv(const KernelSet& ks, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const MatrixView& a,
              const MatrixView& b, float beta, float* c, std::int64_t ldc) {
  if (m == 1) {
    // y = C's row, x = A's row, matrix B(p, j) = b[p·rs + j·cs].
    if (b.cs == 1) {
      streamed(ks.gemv_rows, n, k, alpha, a.p, a.cs, b.p, b.rs, true, beta, c, 1);
      return true;
    }
    if (b.rs == 1 && a.cs == 1) {
      streamed(ks.gemv_dots, n, k, alpha, a.p, 1, b.p, b.cs, false, beta, c, 1);
      return true;
    }
    return false;
  }
  if (n == 1) {
    // y = C's column, x = B's column, and the matrix is A: A(i, p) = a[i·rs + p·cs].
    if (a.rs == 1) {
      streamed(ks.gemv_rows, m, k, alpha, b.p, b.rs, a.p, a.cs, true, beta, c, ldc);
      return true;
    }
    if (a.cs == 1 && b.rs == 1) {
      streamed(ks.gemv_dots, m, k, alpha, b.p, 1, a.p, a.rs, false, beta, c, ldc);
      return true;
    }
  }
  return false;
}

}  // namespace tessera::detail
