// Central finite differences against analytic gradients, with the tolerance stated per check.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "tessera/tensor.hpp"

namespace tessera::test {

struct Tolerance {
  double h = 1e-2;     // the step; the derivative is (f(x + h) − f(x − h)) / (actual 2h in float)
  double atol = 2e-3;  // |numeric − analytic| <= atol + rtol·|analytic|
  double rtol = 1e-2;
  // Where f has kinks (ReLU): skip points whose one-sided differences disagree by more than this
  // (a kink lies within h), and require that at most 5% are skipped. 0: never skip.
  double kink = 0.0;
};

// Compares analytic[i] with the central difference of f with respect to values[i], for every i in
// [0, n) (or `samples` evenly spaced ones when n is larger).
inline void check_gradient(const std::string& what, float* values, const float* analytic, std::int64_t n,
                           const std::function<double()>& f, const Tolerance& tol = {}, std::int64_t samples = 400) {
  const std::int64_t stride = n > samples ? n / samples : 1;
  std::int64_t checked = 0, skipped = 0, failures = 0;
  const double f0 = tol.kink > 0.0 ? f() : 0.0;
  for (std::int64_t i = 0; i < n; i += stride) {
    const float v = values[i];
    const float up = static_cast<float>(static_cast<double>(v) + tol.h);
    const float down = static_cast<float>(static_cast<double>(v) - tol.h);
    values[i] = up;
    const double fp = f();
    values[i] = down;
    const double fm = f();
    values[i] = v;
    if (tol.kink > 0.0 && std::abs((fp - f0) - (f0 - fm)) > tol.kink) {
      ++skipped;
      continue;
    }
    const double numeric = (fp - fm) / (static_cast<double>(up) - static_cast<double>(down));
    const double a = static_cast<double>(analytic[i]);
    ++checked;
    if (std::abs(numeric - a) > tol.atol + tol.rtol * std::abs(a)) {
      if (++failures <= 5) {
        BOOST_ERROR(what << "[" << i << "]: analytic " << a << ", central difference " << numeric);
      }
    }
  }
  BOOST_TEST(failures == 0, what << ": " << failures << " of " << checked << " gradients differ");
  BOOST_TEST(skipped * 20 <= checked + skipped, what << ": " << skipped << " points skipped at kinks");
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
