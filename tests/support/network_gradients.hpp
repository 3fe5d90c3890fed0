// Central differences of a whole network: MSE of its output against random targets, with respect to
// every parameter and every input value, against what backward gives.
#pragma once

#include <random>
#include <string>

#include "support/finite_difference.hpp"
#include "tessera/tessera.hpp"

namespace tessera::test {

// `net` takes `batch` examples of its input shape and gives `outputs` values each.
inline void check_network_gradients(Sequential& net, const std::string& what, std::int64_t batch,
                                    const Tolerance& tolerance = {1e-2, 2e-3, 1e-2}) {
  Tensor x(net.in_shape().with_batch(batch)), target(net.out_shape().with_batch(batch));
  std::mt19937_64 rng(4);
  fill_uniform(x, rng, -2.0f, 2.0f);
  fill_uniform(target, rng);
  const MSE loss;
  const auto value = [&] { return static_cast<double>(loss.compute(net.forward(x), target, nullptr)); };
  net.zero_grad();
  loss.compute(net.forward(x), target, &net.output_gradient());
  Tensor dx(x.shape());
  net.backward(net.output_gradient(), &dx);
  const Tensor grads = net.gradients().clone();
  Tensor params = net.parameters();
  check_gradient(what + " parameters", params.data(), grads.data(), params.size(), value, tolerance);
  check_gradient(what + " input", x.data(), dx.data(), x.size(), value, tolerance);
}

}  // namespace tessera::test
