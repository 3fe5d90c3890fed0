// The app's model presets: architecture, loss, optimizer and the settings a user gets without options,
// for IDX images (seed, mlp, cnn, resnet) and for tables (the mlp preset on a CSV file).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tessera/tessera.hpp"

namespace tessera_app {

enum class LossKind { MSE, CrossEntropy, L1, Huber, BinaryCrossEntropy };

struct Preset {
  std::string name;
  std::string description;
  std::vector<std::int64_t> hidden;  // widths of the Dense layers between the input (or the
                                     // convolutions) and the outputs
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
  // Instead: the residual network (the resnet preset) built by residual_network().
  bool residual = false;
  // Instead: the network of a model description file (--model FILE.json): its text, read once, and
  // the file's name for errors.
  std::string description_text = {}, description_file = {};
  float weight_decay = 0.0f;  // decoupled (AdamW) for adam, L2 for sgd
  bool standardize = false;   // a Standardize layer first, fitted to the training set (tables)
};

// A preset by name, or a model description file (a name ending in .json: read and checked once, its
// training recipe over the mlp preset's settings). Throws std::invalid_argument for an unknown name
// and tessera::DescriptionError for a bad description.
const Preset& preset(const std::string& name);
bool is_description_file(const std::string& model);
// The preset's network and training recipe as a model description (JSON), for examples of shape
// `example` with `outputs` outputs.
std::string describe_preset(const Preset& p, const tessera::Shape& example, std::int64_t outputs);
std::vector<std::string> preset_names();
// The mlp preset as it applies to a table (CSV): Standardize, ReLU layers 64 and 32, Adam with
// decoupled weight decay.
const Preset& table_preset();

// The preset's network for examples of shape `example` ([rows, cols] images; any shape for Dense
// presets, which read it flattened) with `outputs` outputs (classes, or values per target); with
// `hidden`, those widths instead of the preset's.
tessera::Graph build_network(const Preset& p, const tessera::Shape& example, std::int64_t outputs,
                             const std::vector<std::int64_t>* hidden = nullptr);
std::unique_ptr<tessera::Loss> make_loss(LossKind kind);
std::unique_ptr<tessera::Optimizer> make_optimizer(const std::string& name, float lr,
                                                   const tessera::LRSchedule& schedule, tessera::Graph& net,
                                                   float weight_decay = 0.0f);

// ${TESSERA_DATA:-$HOME/.cache/tessera/mnist}
std::string default_data_dir();
// TESSERA_NUM_THREADS when set, else every core (shared out among the processes of an MPI job on this
// machine). Throws std::invalid_argument for a bad value.
int default_threads();

// As recorded in model files ("mse", "cross_entropy", "l1", "huber", "bce"), and back
// (std::invalid_argument if unknown).
std::string to_string(LossKind kind);
LossKind loss_kind(const std::string& name);
std::vector<std::string> loss_names();

}  // namespace tessera_app
