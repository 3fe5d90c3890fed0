// The GEMM front end: argument checks, the cases with nothing to multiply, and the hand-off to the
// driver with the active kernel set.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "gemm/driver.hpp"
#include "gemm/gemv.hpp"
#include "gemm/kernel_set.hpp"

namespace tessera {
namespace {

// The checks are a few compares; messages are built only for the call that fails, since a small
// product takes about a microsecond.
[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("tessera::gemm: " + what); }

void require_size(std::int64_t v, const char* name) {
  if (v < 0) fail(std::string(name) + " must be >= 0, got " + std::to_string(v));
}

void require_ld(std::int64_t ld, std::int64_t width, const char* name, const char* width_name) {
  const std::int64_t least = std::max<std::int64_t>(1, width);
  if (ld < least) {
    fail(std::string(name) + " must be >= max(1, " + width_name + ") = " + std::to_string(least) + ", got " +
         std::to_string(ld));
  }
}

void require_data(const float* p, const char* name) {
  if (p == nullptr) fail(std::string(name) + " must not be null");
}

// C = beta·C (beta = 0 writes zeros, whatever C held), then the epilogue: what remains of the
// product when alpha = 0 or k = 0.
void scale_c(std::int64_t m, std::int64_t n, float beta, float* c, std::int64_t ldc, const Epilogue& ep,
             const detail::KernelSet& ks) {
  for (std::int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    for (std::int64_t j = 0; j < n; ++j) ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
  }
  if (detail::changes_c(ep)) {
    ks.epilogue(c, ldc, m, n, ep.bias, ep.activation);
  }
}

}  // namespace

void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
          const Epilogue& epilogue) {
  require_size(m, "m");
  require_size(n, "n");
  require_size(k, "k");
  const bool ta = trans_a == Trans::Yes, tb = trans_b == Trans::Yes;
  // Stored widths: A is m×k (k×m when transposed), B is k×n (n×k), C is m×n.
  require_ld(lda, ta ? m : k, "lda", ta ? "m" : "k");
  require_ld(ldb, tb ? k : n, "ldb", tb ? "k" : "n");
  require_ld(ldc, n, "ldc", "n");
  if (m == 0 || n == 0) return;
  require_data(c, "c");
  const bool multiply = k > 0 && alpha != 0.0f;
  if (multiply) {
    require_data(a, "a");
    require_data(b, "b");
  }

  const detail::KernelSet& ks = detail::active_kernel_set();
  if (!multiply) {
    scale_c(m, n, beta, c, ldc, epilogue, ks);
    return;
  }
  const detail::MatrixView av = ta ? detail::MatrixView{a, 1, lda} : detail::MatrixView{a, lda, 1};
  const detail::MatrixView bv = tb ? detail::MatrixView{b, 1, ldb} : detail::MatrixView{b, ldb, 1};
  if ((m == 1 || n == 1) && detail::run_gemv(ks, m, n, k, alpha, av, bv, beta, c, ldc)) {
    if (detail::changes_c(epilogue)) ks.epilogue(c, ldc, m, n, epilogue.bias, epilogue.activation);
    return;
  }
  detail::run_gemm(ks, m, n, k, alpha, av, bv, beta, c, ldc, epilogue);
}

void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Epilogue{});
}

namespace detail {

void gemm_overlapping_rows(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                           const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
                           const Epilogue& epilogue) {
  if (m <= 0 || n <= 0 || k <= 0 || lda < 1 || ldb < n || ldc < n) {
    fail("gemm_overlapping_rows: m, n, k and lda must be >= 1 and ldb, ldc >= n");
  }
  run_gemm(active_kernel_set(), m, n, k, 1.0f, MatrixView{a, lda, 1}, MatrixView{b, ldb, 1}, beta, c, ldc, epilogue);
}

}  // namespace detail
}  // namespace tessera
