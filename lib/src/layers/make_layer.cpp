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
  auto activation = [&]() -> std::unique_ptr<Layer> {
    if (spec.kind == "ReLU") return std::make_unique<ReLU>();
    if (spec.kind == "Sigmoid") return std::make_unique<Sigmoid>();
    if (spec.kind == "Tanh") return std::make_unique<Tanh>();
    if (spec.kind == "Identity") return std::make_unique<Identity>();
    if (spec.kind == "Softmax") return std::make_unique<Softmax>();
    return nullptr;
  }();
  if (!activation) throw std::invalid_argument("unknown layer kind '" + spec.kind + "'");
  require_args(spec, 0);
  return activation;
}

}  // namespace tessera
