// Bit-for-bit equality of two tensors: what determinism tests compare.
#pragma once

#include <cstring>

#include "tessera/tensor.hpp"

namespace tessera::test {

// Same size and the same bits (two empty tensors, whose data may be null, are the same).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.size() == b.size() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(float)) == 0);
}

}  // namespace tessera::test
