// One FMA burst: enough independent accumulators to cover the FMA latency on both ports, each one
// a named register (a fold over an index sequence), so the compiler cannot turn the loop inside out.
#pragma once

#include <utility>
#include <xsimd/xsimd.hpp>

namespace tessera::bench {
namespace {

template <class Arch, int... I>
double fma_burst_impl(long iterations, std::integer_sequence<int, I...>) {
  using V = xsimd::batch<float, Arch>;
  V acc[sizeof...(I)] = {V(static_cast<float>(I) * 1e-3f)...};
  const V x(0.999999f), y(1e-7f);
  for (long it = 0; it < iterations; ++it) {
    ((acc[I] = xsimd::fma(acc[I], x, y)), ...);
  }
  // The result is used, so the chains cannot be dropped.
  volatile float sink = (xsimd::hadd(acc[I]) + ...);
  (void)sink;
  return 2.0 * static_cast<double>(sizeof...(I) * V::size) * static_cast<double>(iterations);
}

template <class Arch, int Accumulators>
double fma_burst_impl(long iterations) {
  return fma_burst_impl<Arch>(iterations, std::make_integer_sequence<int, Accumulators>{});
}

}  // namespace
}  // namespace tessera::bench
