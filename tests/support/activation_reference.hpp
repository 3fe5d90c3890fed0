// The activations in double precision: what the GEMM epilogue and the activation layers are checked
// against.
#pragma once

#include <cmath>

#include "tessera/gemm.hpp"

namespace tessera::test {

inline double reference_activation(Activation a, double x) {
  switch (a) {
    case Activation::ReLU:
      return x > 0.0 ? x : 0.0;
    case Activation::Sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case Activation::Tanh:
      return std::tanh(x);
    case Activation::Identity:
      break;
  }
  return x;
}

}  // namespace tessera::test
