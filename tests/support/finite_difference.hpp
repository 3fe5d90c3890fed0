// Central finite differences against analytic gradients, with the tolerance stated per check.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "tessera/gradient_check.hpp"
#include "tessera/tensor.hpp"

namespace tessera::test {

// The library's own gradient check (tessera/gradient_check.hpp), reported through Boost.Test.
using Tolerance = GradientCheckOptions;

inline void report(const std::string& what, const GradientCheckReport& r) {
  for (const GradientMismatch& m : r.mismatches) {
    BOOST_ERROR(what << " " << m.what << "[" << m.index << "]: analytic " << m.analytic << ", central difference "
                     << m.numeric);
  }
  BOOST_TEST(r.failures == 0, what << ": " << r.failures << " of " << r.checked << " gradients differ");
  BOOST_TEST(r.skipped * 20 <= r.checked + r.skipped, what << ": " << r.skipped << " points skipped at kinks");
}

// Compares analytic[i] with the central difference of f with respect to values[i], for every i in
// [0, n) (or `samples` evenly spaced ones when n is larger).
inline void check_gradient(const std::string& what, float* values, const float* analytic, std::int64_t n,
                           const std::function<double()>& f, Tolerance tol = {}, std::int64_t samples = 400) {
  tol.samples = samples;
  report(what, tessera::check_array_gradient("values", values, analytic, n, f, tol));
}

// Σ r_i·y_i in double: a loss whose gradient with respect to y is r.
inline double weighted_sum(const Tensor& y, const Tensor& r) {
  double s = 0.0;
  for (std::int64_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * static_cast<double>(r[i]);
  return s;
}

inline void fill_uniform(Tensor& t, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  for (std::int64_t i = 0; i < t.size(); ++i) t[i] = dist(rng);
}

}  // namespace tessera::test
