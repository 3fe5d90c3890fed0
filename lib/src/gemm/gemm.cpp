// The GEMM front end: argument checks, the cases with nothing to multiply, and the hand-off to the
// driver with the active kernel set.
#include <stdexcept>
#include <string>

#include "gemm/driver.hpp"
#include "gemm/kernel_set.hpp"

namespace tessera {
namespace {

void require(bool ok, const char* what, const std::string& detail) {
  if (!ok) throw std::invalid_argument(std::string("tessera::gemm: ") + what + detail);
}

std::string got(std::int64_t v) { return ", got " + std::to_string(v); }

// C = beta·C (beta = 0 writes zeros, whatever C held), then the epilogue: what remains of the
// product when alpha = 0 or k = 0.
void scale_c(std::int64_t m, std::int64_t n, float beta, float* c, std::int64_t ldc, const Epilogue& ep,
             const detail::KernelSet& ks) {
  for (std::int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    for (std::int64_t j = 0; j < n; ++j) ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
  }
  if (ep.bias != nullptr || ep.activation != Activation::Identity) {
    ks.epilogue(c, ldc, m, n, ep.bias, ep.activation);
  }
}

}  // namespace

void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
          const Epilogue& epilogue) {
  require(m >= 0, "m must be >= 0", got(m));
  require(n >= 0, "n must be >= 0", got(n));
  require(k >= 0, "k must be >= 0", got(k));
  const bool ta = trans_a == Trans::Yes, tb = trans_b == Trans::Yes;
  // Stored widths: A is m×k (or k×m transposed), B is k×n (or n×k), C is m×n.
  const std::int64_t a_width = ta ? m : k, b_width = tb ? k : n;
  require(lda >= std::max<std::int64_t>(1, a_width), "lda must be >= max(1, ",
          std::string(ta ? "m" : "k") + ")" + got(lda));
  require(ldb >= std::max<std::int64_t>(1, b_width), "ldb must be >= max(1, ",
          std::string(tb ? "k" : "n") + ")" + got(ldb));
  require(ldc >= std::max<std::int64_t>(1, n), "ldc must be >= max(1, n)", got(ldc));
  if (m == 0 || n == 0) return;
  require(c != nullptr, "c must not be null", "");
  const bool multiply = k > 0 && alpha != 0.0f;
  if (multiply) {
    require(a != nullptr, "a must not be null", "");
    require(b != nullptr, "b must not be null", "");
  }

  const detail::KernelSet& ks = detail::active_kernel_set();
  if (!multiply) {
    scale_c(m, n, beta, c, ldc, epilogue, ks);
    return;
  }
  const detail::MatrixView av = ta ? detail::MatrixView{a, 1, lda} : detail::MatrixView{a, lda, 1};
  const detail::MatrixView bv = tb ? detail::MatrixView{b, 1, ldb} : detail::MatrixView{b, ldb, 1};
  detail::run_gemm(ks, m, n, k, alpha, av, bv, beta, c, ldc, epilogue);
}

void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Epilogue{});
}

}  // namespace tessera
