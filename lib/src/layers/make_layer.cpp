// The one place that knows every layer kind by name: model files name layers, this builds them.
#include <stdexcept>

#include "tessera/layers/activations.hpp"
#include "tessera/layers/dense.hpp"

namespace tessera {

namespace {
void require_args(const LayerSpec& spec, std::size_t count) {
  if (spec.args.size() != count) {
    throw std::invalid_argument("layer " + spec.kind + " takes " + std::to_string(count) + " arguments, got " +
                                std::to_string(spec.args.size()));
  }
}
}  // namespace

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
  if (spec.kind == "Dense") {
    require_args(spec, 2);
    return std::make_unique<Dense>(spec.args[0], spec.args[1]);
  }
  std::unique_ptr<Layer> layer;
  if (spec.kind == "Softmax") layer = std::make_unique<Softmax>();
  // The elementwise activations by the names they give themselves (what spec() wrote).
  for (Activation a : {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh}) {
    if (!layer && make_activation(a)->name() == spec.kind) layer = make_activation(a);
  }
  if (!layer) throw std::invalid_argument("unknown layer kind '" + spec.kind + "'");
  require_args(spec, 0);
  return layer;
}

}  // namespace tessera
