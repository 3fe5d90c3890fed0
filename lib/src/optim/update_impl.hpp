// The optimizer update loops, written once over an xsimd architecture. Only the update_<isa>.cpp files
// include this, each compiled with its own ISA flags. Every element takes the same arithmetic whether
// it falls in the vector body or the scalar tail's padded vector, so results depend only on the data.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>

#include "optim/update_kernels.hpp"

namespace tessera::detail {
namespace {

// Applies `body` to every vector of [0, n) of the arrays: full vectors in place, the last partial one
// through a zero-padded copy, so the tail sees exactly the arithmetic of the body. Only the first
// `Stored` arrays are written back (the others, such as the gradient, are read only).
template <class Arch, int Stored, int Arrays, class Body>
inline void for_each_vector(const float* const (&arrays)[Arrays], std::int64_t n, const Body& body) {
  using V = xsimd::batch<float, Arch>;
  constexpr std::int64_t w = static_cast<std::int64_t>(V::size);
  auto out = [&](int a) { return const_cast<float*>(arrays[a]); };
  std::int64_t i = 0;
  for (; i + w <= n; i += w) {
    V v[Arrays];
    for (int a = 0; a < Arrays; ++a) v[a] = V::load_unaligned(arrays[a] + i);
    body(v);
    for (int a = 0; a < Stored; ++a) v[a].store_unaligned(out(a) + i);
  }
  if (i < n) {
    alignas(64) float tail[Arrays][w] = {};
    const std::int64_t rest = n - i;
    V v[Arrays];
    for (int a = 0; a < Arrays; ++a) {
      std::copy_n(arrays[a] + i, rest, tail[a]);
      v[a] = V::load_aligned(tail[a]);
    }
    body(v);
    for (int a = 0; a < Stored; ++a) {
      v[a].store_aligned(tail[a]);
      std::copy_n(tail[a], rest, out(a) + i);
    }
  }
}

template <class Arch>
void sgd_update(float* p, const float* g, float* v, std::int64_t n, const SgdStep& s) {
  using V = xsimd::batch<float, Arch>;
  const V lr(s.lr), mu(s.momentum), wd(s.weight_decay);
  if (s.momentum == 0.0f) {
    const float* const arrays[2] = {p, g};
    for_each_vector<Arch, 1>(arrays, n, [&](V(&x)[2]) {
      const V grad = xsimd::fma(wd, x[0], x[1]);
      x[0] = xsimd::fnma(lr, grad, x[0]);
    });
    return;
  }
  // Stored: p and v; read: g.
  const float* const arrays[3] = {p, v, g};
  for_each_vector<Arch, 2>(arrays, n, [&](V(&x)[3]) {
    const V grad = xsimd::fma(wd, x[0], x[2]);
    x[1] = s.first ? grad : xsimd::fma(mu, x[1], grad);
    const V direction = s.nesterov ? xsimd::fma(mu, x[1], grad) : x[1];
    x[0] = xsimd::fnma(lr, direction, x[0]);
  });
}

template <class Arch>
void adam_update(float* p, const float* g, float* m, float* v, std::int64_t n, const AdamStep& s) {
  using V = xsimd::batch<float, Arch>;
  const V b1(s.beta1), b2(s.beta2), one_b1(1.0f - s.beta1), one_b2(1.0f - s.beta2);
  const V eps(s.eps), scale(s.inv_sqrt_bc2), step(s.step_size), decay(s.decay);
  // Stored: p, m, v; read: g.
  const float* const arrays[4] = {p, m, v, g};
  for_each_vector<Arch, 3>(arrays, n, [&](V(&x)[4]) {
    const V grad = x[3];
    x[1] = xsimd::fma(b1, x[1], one_b1 * grad);
    x[2] = xsimd::fma(b2, x[2], one_b2 * grad * grad);
    const V denom = xsimd::fma(xsimd::sqrt(x[2]), scale, eps);
    x[0] = xsimd::fnma(step, x[1] / denom, x[0] * decay);
  });
}

template <class Arch>
const UpdateKernels& make_update_kernels() {
  static const UpdateKernels kernels{&sgd_update<Arch>, &adam_update<Arch>};
  return kernels;
}

}  // namespace
}  // namespace tessera::detail
