// Central differences of a whole network (the library's check_network_gradients: a weighted sum of
// its outputs, with respect to every parameter and every input value), reported through Boost.Test.
#pragma once

#include <string>

#include "support/finite_difference.hpp"
#include "tessera/tessera.hpp"

namespace tessera::test {

// `net` takes `batch` examples of its inputs' shapes.
inline void check_network_gradients(Graph& net, const std::string& what, std::int64_t batch,
                                    const Tolerance& tolerance = {1e-2, 2e-3, 1e-2}) {
  report(what, tessera::check_network_gradients(net, batch, tolerance));
}

}  // namespace tessera::test
