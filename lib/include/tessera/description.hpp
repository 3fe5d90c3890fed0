// Model description files: a network (its inputs, its layers with their options by name, the nodes
// each reads, its outputs) and optionally a training recipe, as JSON, so that an architecture is
// trained without recompiling. describe_model() writes one; the app's presets print this way.
//   {"inputs": [{"name": "image", "shape": [28, 28, 1]}],
//    "layers": [{"name": "conv", "type": "Conv2D", "out_channels": 16, "kernel": 3, "padding": 1},
//               {"type": "ReLU"},                                   // reads the node before it
//               {"name": "sum", "type": "Add", "inputs": ["conv", "relu1"]}, ...],
//    "outputs": ["logits"],                                         // default: the last layer
//    "training": {"loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.001, ...}}
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tessera/graph.hpp"

namespace tessera {

// A description that cannot be read: the message names the file, and the line and column or the
// node, and what is wrong.
class DescriptionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How to train the network, where the description says (every field optional; checked when read):
// loss mse | cross_entropy | l1 | huber | bce; optimizer sgd | momentum | adam; schedule constant |
// cosine; init xavier_uniform | he | normal.
struct TrainingRecipe {
  std::optional<std::string> loss, optimizer, schedule, init;
  std::optional<double> learning_rate, weight_decay;
  std::optional<std::int64_t> batch_size, epochs;
};

struct ModelDescription {
  std::string name, summary;  // "name" and "description", when given
  Graph network;              // built and checked, not yet initialised
  TrainingRecipe training;
};

// Reads a description from JSON text; `source` names it in errors. Throws DescriptionError for bad
// JSON, an unknown layer type or option, a missing or later node named as an input (connections
// only point backwards, so a cycle is an error naming the node), shapes that do not fit, a node
// leading to no output, or bad option values.
ModelDescription parse_model_description(std::string_view text, const std::string& source = "<description>");
// The same, from a file (DescriptionError also when it cannot be read).
ModelDescription read_model_description(const std::filesystem::path& file);

// The JSON description of `net` (and of `training`'s fields that are set), which
// parse_model_description reads back as the same graph. Layers of your own are written as
// {"type": kind, "args": [...]}, and read back when their kind is registered.
std::string describe_model(const Graph& net, const TrainingRecipe& training = {}, const std::string& name = {},
                           const std::string& summary = {});

}  // namespace tessera
