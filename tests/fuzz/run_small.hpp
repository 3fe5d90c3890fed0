// What a fuzz target does with a network it read: a forward pass on zeros in eval mode, for networks
// small enough to run here (a valid file may describe one far too large).
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/graph.hpp"

namespace tessera::fuzz {

inline void run_small(Graph& net, std::int64_t max_inputs, std::int64_t max_parameters) {
  std::int64_t elements = 0;
  for (std::size_t k = 0; k < net.input_count(); ++k) elements += net.node_shape(net.input_node(k)).elements();
  if (elements > max_inputs || net.parameter_count() > max_parameters) return;
  net.eval();
  std::vector<Tensor> xs;
  for (std::size_t k = 0; k < net.input_count(); ++k) xs.emplace_back(net.node_shape(net.input_node(k)).with_batch(2));
  net.forward_all(xs);
}

}  // namespace tessera::fuzz
