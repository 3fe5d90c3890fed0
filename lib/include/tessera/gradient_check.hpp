// Gradient checks by central differences: for testing a layer of your own (the library's tests use
// the same functions). A backward pass that disagrees with the differences of its forward is wrong.
//   tessera::Graph net; auto x = net.input(tessera::Shape{5}); net.add(MyLayer(5), x);
//   const auto report = tessera::check_network_gradients(net, 3);
//   if (!report.ok()) std::cerr << report.summary();
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tessera/graph.hpp"

namespace tessera {

struct GradientCheckOptions {
  // The step: the derivative is (f(v + step) − f(v − step)) / (the actual difference in float).
  double step = 1e-2;
  // |numeric − analytic| ≤ atol + rtol·|analytic| passes.
  double atol = 2e-3;
  double rtol = 1e-2;
  // Where f has kinks (ReLU, max pooling): points whose one-sided differences disagree by more than
  // this are skipped (a kink lies within a step); ok() allows at most 5% skipped. 0: never skip.
  double kink = 0.0;
  // At most this many values of each array are checked, evenly spaced.
  std::int64_t samples = 400;
  // check_network_gradients: inputs drawn uniformly from [input_low, input_high], from `seed`.
  float input_low = -2.0f, input_high = 2.0f;
  std::uint64_t seed = 4;
};

struct GradientMismatch {
  std::string what;  // "parameters", "input 0", ...
  std::int64_t index = 0;
  double analytic = 0.0, numeric = 0.0;
};

struct GradientCheckReport {
  std::int64_t checked = 0, skipped = 0, failures = 0;
  std::vector<GradientMismatch> mismatches;  // the first few failures of each array
  // No failures, and at most 5% of the points skipped at kinks.
  bool ok() const noexcept { return failures == 0 && skipped * 20 <= checked + skipped; }
  // One line per mismatch, then the counts.
  std::string summary() const;
  // Adds `other`'s counts and mismatches to this one's.
  void merge(const GradientCheckReport& other);
};

// Compares analytic[i] with the central difference of f with respect to values[i] (which it moves
// and puts back), for up to options.samples evenly spaced i in [0, n).
GradientCheckReport check_array_gradient(const std::string& what, float* values, const float* analytic, std::int64_t n,
                                         const std::function<double()>& f, const GradientCheckOptions& options = {});

// The whole network against a loss Σ r·y over its outputs with fixed random weights r: the gradient
// with respect to every parameter and every input value, from one backward. Layers that draw random
// numbers (Dropout) must be in eval mode, or differences would see new masks; BatchNorm may be in
// either (in train mode the batch statistics take part, as they should).
GradientCheckReport check_network_gradients(Graph& net, std::int64_t batch, const GradientCheckOptions& options = {});

}  // namespace tessera
