// Sequential: a chain graph, each layer reading the one before, with the Graph's flat buffers and
// sweeps.
//   tessera::Sequential net(tessera::Dense(784, 100), tessera::Sigmoid(), tessera::Dense(100, 10));
//   net.initialize(seed);
//   const tessera::Tensor& y = net.forward(x);         // x: [B, 784] → y: [B, 10]
//   loss.compute(y, labels, &net.output_gradient());   // dy into the network's own buffer
//   net.backward(net.output_gradient());
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "tessera/graph.hpp"

namespace tessera {

// Adds nothing to Graph but the chain-building add(): a Sequential moved into a Graph (as model files
// load) loses nothing.
class Sequential final : public Graph {
 public:
  Sequential() = default;
  // Sequential(Dense(784, 100), ReLU(), Dense(100, 10)): each layer is moved in and connected.
  template <class... Layers>
  requires(sizeof...(Layers) > 0 &&
           (std::is_base_of_v<Layer, std::decay_t<Layers>> && ...)) explicit Sequential(Layers&&... layers) {
    (add(std::forward<Layers>(layers)), ...);
  }
  // A network for examples of shape `input` (an image: [height, width, channels]), for a first layer
  // that takes many shapes, such as Conv2D. Throws std::invalid_argument for an empty shape.
  explicit Sequential(const Shape& input);

  // Appends a layer, connecting it to the previous one's output. Throws std::invalid_argument naming
  // both layers and shapes when they do not fit, and std::logic_error once the network is built (by
  // initialize(), forward(), parameters() or gradients()).
  template <class L>
  requires std::is_base_of_v<Layer, std::decay_t<L>> Sequential& add(L&& layer) {
    return add(std::unique_ptr<Layer>(std::make_unique<std::decay_t<L>>(std::forward<L>(layer))));
  }
  Sequential& add(std::unique_ptr<Layer> layer);
};

static_assert(sizeof(Sequential) == sizeof(Graph), "Sequential must add no state to Graph");

}  // namespace tessera
