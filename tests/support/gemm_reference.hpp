// Double-precision reference GEMM for the tests, with the magnitude sum each element's error bound
// is stated against.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tessera/gemm.hpp"

namespace tessera::test {

struct Matrix {
  std::int64_t rows = 0, cols = 0, ld = 0;
  std::vector<float> data;
  Matrix() = default;
  Matrix(std::int64_t r, std::int64_t c, std::int64_t pad = 0)
      : rows(r), cols(c), ld(c + pad), data(static_cast<std::size_t>(std::max<std::int64_t>(1, r * (c + pad)))) {}
  float& at(std::int64_t i, std::int64_t j) { return data[static_cast<std::size_t>(i * ld + j)]; }
  float at(std::int64_t i, std::int64_t j) const { return data[static_cast<std::size_t>(i * ld + j)]; }
  void fill_uniform(std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (auto& x : data) x = dist(rng);
  }
};

// exact[i, j] = alpha·Σ op(A)·op(B) + beta·C in double; magnitude[i, j] = |alpha|·Σ|op(A)||op(B)| + |beta·C|.
struct Reference {
  std::vector<double> exact, magnitude;
};

inline Reference reference_gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                                const Matrix& a, const Matrix& b, float beta, const Matrix& c) {
  Reference r{std::vector<double>(static_cast<std::size_t>(m * n), 0.0),
              std::vector<double>(static_cast<std::size_t>(m * n), 0.0)};
  std::vector<double> arow(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t p = 0; p < k; ++p)
      arow[static_cast<std::size_t>(p)] = static_cast<double>(ta == Trans::Yes ? a.at(p, i) : a.at(i, p));
    double* e = &r.exact[static_cast<std::size_t>(i * n)];
    double* g = &r.magnitude[static_cast<std::size_t>(i * n)];
    for (std::int64_t p = 0; p < k; ++p) {
      const double av = arow[static_cast<std::size_t>(p)];
      if (tb == Trans::No) {
        const float* brow = &b.data[static_cast<std::size_t>(p * b.ld)];
        for (std::int64_t j = 0; j < n; ++j) {
          const auto bv = static_cast<double>(brow[j]);
          e[j] += av * bv;
          g[j] += std::abs(av * bv);
        }
      } else {
        for (std::int64_t j = 0; j < n; ++j) {
          const auto bv = static_cast<double>(b.at(j, p));
          e[j] += av * bv;
          g[j] += std::abs(av * bv);
        }
      }
    }
    for (std::int64_t j = 0; j < n; ++j) {
      const double cb = beta == 0.0f ? 0.0 : static_cast<double>(beta) * static_cast<double>(c.at(i, j));
      e[j] = static_cast<double>(alpha) * e[j] + cb;
      g[j] = std::abs(static_cast<double>(alpha)) * g[j] + std::abs(cb);
    }
  }
  return r;
}

// The stated bound: a float sum of k products carries at most about k roundings of u = 2^-24 relative
// to the magnitude sum; alpha folded into packing and the beta update add two more; factor 2 for slack.
inline double error_bound(std::int64_t k, double magnitude) {
  return 2.0 * static_cast<double>(k + 3) * 0x1p-24 * magnitude + 1e-30;
}

}  // namespace tessera::test
