// The one place that knows every layer kind by name: model files name layers, this builds them, from
// the library's own kinds and from those the user registered.
#include <map>
#include <mutex>
#include <stdexcept>

#include "layers/float_arg.hpp"
#include "tessera/layers/activations.hpp"
#include "tessera/layers/conv2d.hpp"
#include "tessera/layers/dense.hpp"
#include "tessera/layers/dropout.hpp"
#include "tessera/layers/flatten.hpp"
#include "tessera/layers/merge.hpp"
#include "tessera/layers/normalization.hpp"
#include "tessera/layers/normalize.hpp"
#include "tessera/layers/pointwise.hpp"
#include "tessera/layers/pooling.hpp"
#include "tessera/layers/standardize.hpp"

namespace tessera {

namespace {
void require_args(const LayerSpec& spec, std::size_t count) {
  if (spec.args.size() != count) {
    throw std::invalid_argument("layer " + spec.kind + " takes " + std::to_string(count) + " arguments, got " +
                                std::to_string(spec.args.size()));
  }
}
using detail::float_of_arg;
}  // namespace

namespace {
struct Registry {
  std::mutex lock;
  std::map<std::string, LayerFactory> factories;
};
Registry& registry() {
  static Registry r;
  return r;
}

std::unique_ptr<Layer> make_builtin_layer(const LayerSpec& spec);
}  // namespace

void register_layer(const std::string& kind, LayerFactory factory) {
  if (kind.empty() || !factory) throw std::invalid_argument("register_layer: an empty kind or factory");
  bool builtin = true;
  try {
    make_builtin_layer({kind, {}});
  } catch (const std::invalid_argument& e) {
    builtin = std::string(e.what()).find("unknown layer kind") == std::string::npos;
  }
  if (builtin) throw std::invalid_argument("register_layer: '" + kind + "' is one of the library's layer kinds");
  Registry& r = registry();
  const std::lock_guard<std::mutex> guard(r.lock);
  if (!r.factories.emplace(kind, std::move(factory)).second) {
    throw std::invalid_argument("register_layer: the kind '" + kind + "' is already registered");
  }
}

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
  try {
    return make_builtin_layer(spec);
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).find("unknown layer kind") == std::string::npos) throw;
  }
  LayerFactory factory;
  {
    Registry& r = registry();
    const std::lock_guard<std::mutex> guard(r.lock);
    const auto it = r.factories.find(spec.kind);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    throw std::invalid_argument("unknown layer kind '" + spec.kind +
                                "' (a layer of your own: tessera::register_layer before loading)");
  }
  std::unique_ptr<Layer> layer = factory(spec);
  if (!layer) throw std::invalid_argument("the factory registered for '" + spec.kind + "' returned no layer");
  return layer;
}

namespace {
std::unique_ptr<Layer> make_builtin_layer(const LayerSpec& spec) {
  if (spec.kind == "Dense") {
    require_args(spec, 2);
    return std::make_unique<Dense>(spec.args[0], spec.args[1]);
  }
  if (spec.kind == "Conv2D") {
    require_args(spec, 5);
    return std::make_unique<Conv2D>(spec.args[0], spec.args[1], spec.args[2], spec.args[3], spec.args[4]);
  }
  if (spec.kind == "MaxPool2D") {
    require_args(spec, 2);
    return std::make_unique<MaxPool2D>(spec.args[0], spec.args[1]);
  }
  if (spec.kind == "AvgPool2D") {
    require_args(spec, 2);
    return std::make_unique<AvgPool2D>(spec.args[0], spec.args[1]);
  }
  if (spec.kind == "Dropout") {
    require_args(spec, 1);
    return std::make_unique<Dropout>(float_of_arg(spec, 0));
  }
  if (spec.kind == "Normalize") {
    require_args(spec, 2);
    return std::make_unique<Normalize>(float_of_arg(spec, 0), float_of_arg(spec, 1));
  }
  if (spec.kind == "BatchNorm") {
    require_args(spec, 3);
    return std::make_unique<BatchNorm>(spec.args[0], float_of_arg(spec, 1), float_of_arg(spec, 2));
  }
  if (spec.kind == "LayerNorm") {
    require_args(spec, 2);
    return std::make_unique<LayerNorm>(spec.args[0], float_of_arg(spec, 1));
  }
  if (spec.kind == "LeakyReLU") {
    require_args(spec, 1);
    return std::make_unique<LeakyReLU>(float_of_arg(spec, 0));
  }
  if (spec.kind == "ELU") {
    require_args(spec, 1);
    return std::make_unique<ELU>(float_of_arg(spec, 0));
  }
  if (spec.kind == "Standardize") {
    require_args(spec, 1);
    // Its statistics are buffers: the model file holds them after the parameters.
    if (spec.args[0] < 1 || spec.args[0] > (std::int64_t{1} << 32)) {
      throw std::invalid_argument("layer Standardize: " + std::to_string(spec.args[0]) + " features");
    }
    return std::make_unique<Standardize>(spec.args[0]);
  }
  std::unique_ptr<Layer> layer;
  if (spec.kind == "Softmax") layer = std::make_unique<Softmax>();
  if (spec.kind == "LogSoftmax") layer = std::make_unique<LogSoftmax>();
  if (spec.kind == "GELU") layer = std::make_unique<GELU>();
  if (spec.kind == "GlobalAvgPool2D") layer = std::make_unique<GlobalAvgPool2D>();
  if (spec.kind == "SiLU") layer = std::make_unique<SiLU>();
  if (spec.kind == "Flatten") layer = std::make_unique<Flatten>();
  if (spec.kind == "Add") layer = std::make_unique<Add>();
  if (spec.kind == "Concat") layer = std::make_unique<Concat>();
  // The elementwise activations by the names they give themselves (what spec() wrote).
  for (Activation a : {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh}) {
    if (!layer && make_activation(a)->name() == spec.kind) layer = make_activation(a);
  }
  if (!layer) throw std::invalid_argument("unknown layer kind '" + spec.kind + "'");
  require_args(spec, 0);
  return layer;
}
}  // namespace

}  // namespace tessera
