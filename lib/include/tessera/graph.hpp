// Graph: layers applied to earlier nodes (inputs or layers' outputs), with every parameter in one flat
// 64-byte-aligned buffer, every gradient in a second of the same layout, state saved but not trained
// in a third, and activations allocated once per batch size.
//   tessera::Graph net;
//   auto x = net.input(tessera::Shape{28, 28, 1});
//   auto h = net.add(tessera::Conv2D(1, 16, 3, 1, 1), x);
//   auto r = net.add(tessera::ReLU(), net.add(tessera::BatchNorm(16), h));
//   net.add(tessera::Add(), {h, r});                   // the last node added is the output
//   const tessera::Tensor& y = net.forward(images);    // [B, 28, 28, 1] → [B, 28, 28, 16]
//   loss.compute(y, labels, &net.output_gradient());
//   net.backward(net.output_gradient());
// A node can only name nodes that already exist, so the order of insertion is the order of execution
// (forward in that order, backward in the reverse), fixed once and for all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tessera/init.hpp"
#include "tessera/layers/layer.hpp"
#include "tessera/tensor.hpp"

namespace tessera {

// Where the time of one layer went, summed over the calls since the last reset_profile().
struct LayerProfile {
  std::string name;  // with " (fused)" for an activation computed by the preceding layer's epilogue
  double forward_seconds = 0.0;
  double backward_seconds = 0.0;
  double gemm_seconds = 0.0;   // the part of forward + backward spent inside gemm
  double forward_flops = 0.0;  // floating-point operations done by forward (for GFLOP/s)
  double backward_flops = 0.0;
  std::int64_t forward_calls = 0;
  std::int64_t backward_calls = 0;
};

// A node of a Graph: one of its inputs, or the output of one of its layers.
struct Node {
  std::size_t index = static_cast<std::size_t>(-1);
  friend bool operator==(Node, Node) = default;
};

class Graph {
 public:
  Graph();
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  // A graph input taking examples of shape `shape` (an image: [height, width, channels]). Names are
  // optional ("input0", "input1", ... otherwise) and unique. Throws std::invalid_argument for an
  // empty shape or a name in use.
  Node input(const Shape& shape, std::string name = {});
  // Applies `layer` to earlier nodes: one for most layers, two or more for Add and Concat. The layer
  // is moved in. Throws std::invalid_argument naming the layer, the nodes and their shapes when they
  // do not fit or a node is not this graph's, and std::logic_error once the graph is built (by
  // initialize(), forward(), parameters() or gradients()).
  template <class L>
  requires std::is_base_of_v<Layer, std::decay_t<L>> Node add(L&& layer, Node input, std::string name = {}) {
    return add(std::unique_ptr<Layer>(std::make_unique<std::decay_t<L>>(std::forward<L>(layer))), {&input, 1},
               std::move(name));
  }
  template <class L>
  requires std::is_base_of_v<Layer, std::decay_t<L>> Node add(L&& layer, std::initializer_list<Node> inputs,
                                                              std::string name = {}) {
    return add(std::unique_ptr<Layer>(std::make_unique<std::decay_t<L>>(std::forward<L>(layer))),
               std::span<const Node>(inputs.begin(), inputs.size()), std::move(name));
  }
  Node add(std::unique_ptr<Layer> layer, std::span<const Node> inputs, std::string name = {});
  // The graph's outputs, in order (by default the last node added). Throws std::invalid_argument for
  // an empty list, a node not of this graph, or one named twice, and std::logic_error once built.
  void set_outputs(std::vector<Node> outputs);

  // Layers in execution order (parameters are laid out in this order).
  std::size_t size() const noexcept { return layer_nodes_.size(); }
  Layer& layer(std::size_t i);
  const Layer& layer(std::size_t i) const;
  // Nodes: inputs and layers, in insertion order.
  std::size_t node_count() const noexcept;
  Node layer_node(std::size_t i) const;
  // The layer a node applies, or nullptr for an input.
  const Layer* node_layer(Node node) const;
  const std::string& node_name(Node node) const;
  const Shape& node_shape(Node node) const;
  // The nodes a node reads (none for an input).
  std::span<const Node> node_inputs(Node node) const;
  // The node of that name. Throws std::invalid_argument when there is none.
  Node find(const std::string& name) const;

  std::size_t input_count() const noexcept { return inputs_.size(); }
  Node input_node(std::size_t k) const;
  std::size_t output_count() const noexcept;
  Node output_node(std::size_t k) const;
  // Shapes of one example of the only input and the only output. Throws std::logic_error for a graph
  // without layers, or with more than one input (in_shape) or output (out_shape).
  const Shape& in_shape() const;
  const Shape& out_shape() const;
  std::int64_t parameter_count() const noexcept;
  // Floats of state saved but not trained (buffers()), over all layers.
  std::int64_t buffer_count() const noexcept;

  // Draws every parameter from `seed` (layer i from the Rng stream i): the same values on any machine
  // and thread count.
  void initialize(std::uint64_t seed, Init init = Init::XavierUniform);

  // x: [B, in...] → [B, out...], for a graph of one input and one output. The result is a view of the
  // graph's own buffer, valid until the next forward; x must stay alive and unchanged until backward.
  // Throws std::invalid_argument when x's shape is not [B, in...].
  const Tensor& forward(const Tensor& x);
  // One tensor per input, all of one batch B → one view per output.
  std::span<const Tensor> forward_all(std::span<const Tensor> xs);
  // The graph's buffer for ∂L/∂output k, for a loss to write into. The same Tensor object throughout;
  // each forward points it at a buffer of its batch's shape.
  Tensor& output_gradient(std::size_t k = 0);
  // Backpropagates d_output ([B, out...] for the last forward's B) and writes the parameter
  // gradients: overwriting them after zero_grad(), adding to them otherwise (as PyTorch does). When
  // d_input is not null, also writes ∂L/∂x into it ([B, in...]). One input and one output.
  void backward(const Tensor& d_output, Tensor* d_input = nullptr);
  // One gradient per output; d_inputs empty, or one pointer (maybe null) per input for ∂L/∂input.
  void backward_all(std::span<const Tensor> d_outputs, std::span<Tensor* const> d_inputs = {});

  void train();
  // Evaluation mode. A BatchNorm after a Dense or Conv2D that only it reads is then folded into
  // that layer's weights (a copy, made at each forward from the current parameters and running
  // statistics; the parameters stay as they are): one layer instead of two.
  void eval();
  // Tells layers that draw random numbers (Dropout) which process of a data-parallel run this is, so
  // that the processes' shards of a batch get masks of their own (0, the default: one process).
  void set_random_stream(std::uint64_t stream);
  bool training() const noexcept { return training_; }

  // Flat views of all parameters and all gradients, layer after layer in the same layout.
  Tensor parameters();
  // A flat view of every layer's buffers (saved, never trained), layer after layer; empty when no
  // layer has any.
  Tensor buffers();
  // (Applies a pending zero_grad first, so what it shows is what the optimizer will read.)
  Tensor gradients();
  // Clears the gradients. Costs nothing: the next backward overwrites instead of adding.
  void zero_grad() noexcept { gradients_cleared_ = true; }

  void set_profiling(bool on);
  bool profiling() const noexcept { return profiling_; }
  // One entry per layer, in execution order.
  std::vector<LayerProfile> profile() const;
  void reset_profile();
  // One line per layer: name, output shape, parameters (and, where a graph is not a chain, inputs).
  std::string summary() const;
  // Floats held for activations and gradients at the current batch capacity (for memory figures).
  std::int64_t activation_floats() const noexcept;

 protected:
  // Appends a layer already connected to `inputs` (Sequential's add checks and connects itself).
  Node append(std::unique_ptr<Layer> layer, std::vector<Node> inputs, std::string name);
  bool built() const noexcept { return built_; }
  // Throws std::logic_error once built, naming `what` was attempted.
  void require_unbuilt(const char* what) const;

 private:
  struct NodeData;
  struct Plan;

  void build();
  void reserve(std::int64_t batch);
  const NodeData& checked(Node node, const char* what) const;
  std::string describe(Node node) const;
  Tensor output_of(std::size_t node);
  void forward_node(std::size_t node);
  // Folds (or unfolds) the BatchNorm layers that follow a Dense or Conv2D into those layers' weights.
  void set_folding(bool on);
  void backward_node(std::size_t node, bool accumulate);

  std::vector<NodeData> nodes_;
  std::vector<std::size_t> inputs_;       // node indices of the graph's inputs
  std::vector<std::size_t> layer_nodes_;  // node index of layer i
  std::vector<std::size_t> outputs_;      // empty: the last node
  std::unique_ptr<Plan> plan_;
  Tensor params_, grads_, buffers_;
  std::vector<Tensor> input_views_, output_views_, output_gradient_views_;
  std::int64_t batch_ = 0, capacity_ = 0;
  bool built_ = false;
  bool ran_forward_ = false;
  bool training_ = true;
  bool gradients_cleared_ = true;
  bool profiling_ = false;
  bool folding_active_ = false;  // evaluation mode: folded layers skipped
};

}  // namespace tessera
