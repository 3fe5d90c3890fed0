// The app's model presets: architecture, loss, optimizer and the settings a user gets without options.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tessera/tessera.hpp"

namespace mnist_app {

enum class LossKind { MSE, CrossEntropy };

struct Preset {
  std::string name;
  std::string description;
  std::vector<std::int64_t> hidden;  // widths of the Dense layers between the input (or the
                                     // convolutions) and the classes
  tessera::Activation activation;    // after every hidden layer
  bool activate_output;              // also after the last layer (the original's sigmoid output)
  LossKind loss;
  tessera::Init init;
  std::string optimizer;  // sgd, momentum or adam
  float lr;
  bool cosine;  // the rate decays along a half cosine to 0 over the whole run
  std::int64_t batch_size;
  std::int64_t epochs;
  // Two 5×5 convolutions (32 and 64 channels), each followed by the activation and 2×2 max pooling,
  // before the Dense layers.
  bool convolutional = false;
};

// Throws std::invalid_argument for an unknown name.
const Preset& preset(const std::string& name);
std::vector<std::string> preset_names();

// The preset's network for examples of shape `example` ([rows, cols] images; any shape for Dense
// presets, which read it flattened).
tessera::Sequential build_network(const Preset& p, const tessera::Shape& example, std::int64_t classes);
std::unique_ptr<tessera::Loss> make_loss(LossKind kind);
std::unique_ptr<tessera::Optimizer> make_optimizer(const std::string& name, float lr,
                                                   const tessera::LRSchedule& schedule, tessera::Sequential& net);

// ${TESSERA_DATA:-$HOME/.cache/tessera/mnist}
std::string default_data_dir();
// TESSERA_NUM_THREADS when set, else every core (shared out among the processes of an MPI job on this
// machine). Throws std::invalid_argument for a bad value.
int default_threads();

// As recorded in model files ("mse", "cross_entropy"), and back (std::invalid_argument if unknown).
std::string to_string(LossKind kind);
LossKind loss_kind(const std::string& name);

}  // namespace mnist_app
