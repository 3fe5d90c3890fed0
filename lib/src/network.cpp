// Sequential: appending a layer to the chain, with the messages of a chain (layer i cannot follow
// layer i − 1).
#include "tessera/network.hpp"

#include <stdexcept>

namespace tessera {

namespace {
std::string chain_position(std::size_t i, const Layer& layer) {
  return "layer " + std::to_string(i) + " " + layer.name();
}
}  // namespace

Sequential::Sequential(const Shape& input) {
  if (input.rank() == 0 || input.elements() < 1) {
    throw std::invalid_argument("Sequential: the input shape must have at least one element, got " + input.to_string());
  }
  Graph::input(input);
}

Sequential& Sequential::add(std::unique_ptr<Layer> layer) {
  require_unbuilt("Sequential::add");
  if (!layer) throw std::invalid_argument("Sequential::add: null layer");
  if (layer->merges_inputs()) {
    throw std::invalid_argument("Sequential: " + layer->name() + " combines several inputs; build a Graph");
  }
  const std::size_t index = size();
  if (index == 0 && input_count() == 1) {
    const Shape& shape = node_shape(input_node(0));
    try {
      layer->connect(shape);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Sequential: the first layer, " + layer->name() + ", cannot take the input shape " +
                                  shape.to_string() + ": " + e.what());
    }
  } else if (index == 0) {
    const auto required = layer->required_in_shape();
    if (!required) {
      throw std::invalid_argument("Sequential: the first layer, " + layer->name() +
                                  ", does not fix an input shape; start with one that does, such as Dense, or "
                                  "give the shape: Sequential(Shape{28, 28, 1})");
    }
    layer->connect(*required);
    Graph::input(*required);
  } else {
    const Layer& previous = this->layer(index - 1);
    try {
      layer->connect(previous.out_shape());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Sequential: " + chain_position(index, *layer) + " cannot follow " +
                                  chain_position(index - 1, previous) + ", whose output has shape " +
                                  previous.out_shape().to_string() + ": " + e.what());
    }
  }
  const Node previous = index == 0 ? input_node(0) : layer_node(index - 1);
  append(std::move(layer), {previous}, {});
  return *this;
}

}  // namespace tessera
