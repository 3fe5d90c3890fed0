// Graph: adding nodes (shape checks), building (the flat buffers, fusing activations into the
// preceding layer's epilogue where its output has one use, gradient buffers shared by liveness), and
// the forward and backward sweeps with multi-use gradients summed in a fixed order.
#include "tessera/graph.hpp"

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "parallel.hpp"
#include "tessera/layers/merge.hpp"
#include "timing.hpp"

namespace tessera {

namespace {
constexpr std::size_t kNone = static_cast<std::size_t>(-1);
}  // namespace

struct Graph::NodeData {
  std::string name;
  std::unique_ptr<Layer> layer;     // null for a graph input
  std::vector<std::size_t> inputs;  // node indices
  std::vector<Node> input_nodes;    // the same, as node_inputs() gives them
  Shape shape;                      // of one example
  std::size_t input_index = kNone;  // for a graph input: which
  std::size_t layer_index = kNone;  // for a layer: which

  // Set by build().
  // The activation this layer computes is applied by its input's epilogue: forward skips it, and its
  // output buffer is its input's.
  bool fused = false;
  // This activation's derivative is applied by its one consumer's backward: its own is skipped, and
  // the consumer writes its gradient contribution straight to this node's input.
  bool absorbed = false;
  // In evaluation mode this layer (a BatchNorm) is folded into its input's Dense or Conv2D: forward
  // skips it, and its output is its input's buffer.
  bool folded = false;
  std::size_t output_index = kNone;  // which graph output, if one
  int grad_slot = -1;                // the gradient buffer shared by liveness (-1: none of the pool's)
  // The first of this node's gradient contributions (in backward order) writes; the others go through
  // a scratch buffer and are added, so multi-use gradients are summed in one fixed order.
  std::size_t first_contributor = kNone;  // consumer node
  std::size_t first_slot = kNone;         // its input slot

  Tensor output;            // capacity × shape (empty when fused or an input)
  std::vector<Tensor> xs;   // a merge layer's input views, kept to allocate nothing per step
  std::vector<Tensor> dxs;  // its gradient targets
  std::vector<Tensor*> dx_ptrs;
  double forward_seconds = 0.0, backward_seconds = 0.0;
  double forward_flops = 0.0, backward_flops = 0.0;
  std::int64_t forward_calls = 0, backward_calls = 0;
};

struct Graph::Plan {
  std::vector<std::int64_t> slot_elements;  // per gradient slot: the largest example it holds
  std::vector<Tensor> slots;                // capacity × slot_elements
  std::int64_t scratch_elements = 0;
  std::size_t scratch_count = 0;
  std::vector<Tensor> scratch;
  std::vector<Tensor> output_gradients;  // per graph output: the buffer a loss writes into
  std::vector<std::size_t> folds;        // the nodes folded into their inputs in evaluation mode
  std::vector<float> fold_scale, fold_shift;
  // Per backward: which nodes need a gradient, which have been written, and the gradient views
  // the caller gave for the inputs.
  std::vector<char> needs_grad, written;
  std::vector<Tensor*> d_inputs;
};

Graph::Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;
Graph::~Graph() = default;

void Graph::require_unbuilt(const char* what) const {
  if (built_) {
    throw std::logic_error(std::string(what) +
                           ": the network is already built (by initialize, forward, parameters or gradients); "
                           "add every layer before that");
  }
}

std::string Graph::describe(Node node) const {
  const NodeData& n = nodes_[node.index];
  std::string out = "node ";
  out += std::to_string(node.index);
  out += " '";
  out += n.name;
  out += "'";
  if (n.layer) {
    out += " ";
    out += n.layer->name();
  }
  return out;
}

namespace {
std::string default_name(const std::string& kind, std::size_t index) {
  std::string out;
  for (char c : kind) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out + std::to_string(index);
}
}  // namespace

Node Graph::input(const Shape& shape, std::string name) {
  require_unbuilt("Graph::input");
  if (shape.rank() == 0 || shape.elements() < 1) {
    throw std::invalid_argument("Graph: an input's shape must have at least one element, got " + shape.to_string());
  }
  NodeData n;
  n.name = name.empty() ? "input" + std::to_string(inputs_.size()) : std::move(name);
  n.shape = shape;
  n.input_index = inputs_.size();
  for (const NodeData& other : nodes_) {
    if (other.name == n.name) throw std::invalid_argument("Graph: a node named '" + n.name + "' exists already");
  }
  inputs_.push_back(nodes_.size());
  nodes_.push_back(std::move(n));
  return Node{nodes_.size() - 1};
}

Node Graph::add(std::unique_ptr<Layer> layer, std::span<const Node> inputs, std::string name) {
  require_unbuilt("Graph::add");
  if (!layer) throw std::invalid_argument("Graph::add: null layer");
  const std::string what =
      "node " + std::to_string(nodes_.size()) + (name.empty() ? "" : " '" + name + "'") + " " + layer->name();
  if (inputs.empty()) throw std::invalid_argument("Graph: " + what + " names no input");
  std::vector<Shape> shapes;
  for (const Node in : inputs) {
    if (in.index >= nodes_.size()) {
      throw std::invalid_argument("Graph: " + what + " names node " + std::to_string(in.index) +
                                  ", which is not (yet) in this graph of " + std::to_string(nodes_.size()) + " nodes");
    }
    shapes.push_back(nodes_[in.index].shape);
  }
  const auto inputs_text = [&] {
    std::string out;
    for (const Node in : inputs) {
      out += (out.empty() ? "" : ", ") + describe(in) + " (shape " + nodes_[in.index].shape.to_string() + ")";
    }
    return out;
  };
  try {
    if (layer->merges_inputs()) {
      static_cast<MergeLayer&>(*layer).connect_inputs(shapes);
    } else if (inputs.size() != 1) {
      throw std::invalid_argument("it takes one input, given " + std::to_string(inputs.size()));
    } else {
      layer->connect(shapes[0]);
    }
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("Graph: " + what + " cannot take " + inputs_text() + ": " + e.what());
  }
  std::vector<Node> nodes(inputs.begin(), inputs.end());
  return append(std::move(layer), std::move(nodes), std::move(name));
}

Node Graph::append(std::unique_ptr<Layer> layer, std::vector<Node> inputs, std::string name) {
  NodeData n;
  const bool named = !name.empty();
  n.name = named ? std::move(name) : default_name(layer->spec().kind, nodes_.size());
  for (;;) {
    const bool taken = std::any_of(nodes_.begin(), nodes_.end(), [&](const NodeData& o) { return o.name == n.name; });
    if (!taken) break;
    if (named) throw std::invalid_argument("Graph: a node named '" + n.name + "' exists already");
    n.name += "_";
  }
  for (const Node in : inputs) n.inputs.push_back(in.index);
  n.input_nodes = std::move(inputs);
  n.shape = layer->out_shape();
  n.layer_index = layer_nodes_.size();
  if (layer->merges_inputs()) {
    n.xs.resize(n.inputs.size());
    n.dxs.resize(n.inputs.size());
    n.dx_ptrs.resize(n.inputs.size());
  }
  n.layer = std::move(layer);
  layer_nodes_.push_back(nodes_.size());
  nodes_.push_back(std::move(n));
  return Node{nodes_.size() - 1};
}

void Graph::set_outputs(std::vector<Node> outputs) {
  require_unbuilt("Graph::set_outputs");
  if (outputs.empty()) throw std::invalid_argument("Graph::set_outputs: no outputs");
  std::vector<std::size_t> chosen;
  for (const Node out : outputs) {
    if (out.index >= nodes_.size()) {
      throw std::invalid_argument("Graph::set_outputs: node " + std::to_string(out.index) + " is not in this graph");
    }
    if (!nodes_[out.index].layer) {
      throw std::invalid_argument("Graph::set_outputs: " + describe(out) + " is an input, not a layer's output");
    }
    if (std::find(chosen.begin(), chosen.end(), out.index) != chosen.end()) {
      throw std::invalid_argument("Graph::set_outputs: " + describe(out) + " is named twice");
    }
    chosen.push_back(out.index);
  }
  outputs_ = std::move(chosen);
}

const Graph::NodeData& Graph::checked(Node node, const char* what) const {
  if (node.index >= nodes_.size()) {
    throw std::out_of_range(std::string(what) + ": node " + std::to_string(node.index) + " but the graph has " +
                            std::to_string(nodes_.size()));
  }
  return nodes_[node.index];
}

Layer& Graph::layer(std::size_t i) {
  if (i >= layer_nodes_.size()) {
    throw std::out_of_range("Graph::layer: index " + std::to_string(i) + " but the network has " +
                            std::to_string(layer_nodes_.size()) + " layers");
  }
  return *nodes_[layer_nodes_[i]].layer;
}
const Layer& Graph::layer(std::size_t i) const { return const_cast<Graph*>(this)->layer(i); }

Node Graph::layer_node(std::size_t i) const {
  const_cast<Graph*>(this)->layer(i);  // range check
  return Node{layer_nodes_[i]};
}
const Layer* Graph::node_layer(Node node) const { return checked(node, "Graph::node_layer").layer.get(); }
const std::string& Graph::node_name(Node node) const { return checked(node, "Graph::node_name").name; }
const Shape& Graph::node_shape(Node node) const { return checked(node, "Graph::node_shape").shape; }

std::span<const Node> Graph::node_inputs(Node node) const { return checked(node, "Graph::node_inputs").input_nodes; }

Node Graph::find(const std::string& name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return Node{i};
  }
  throw std::invalid_argument("Graph: no node named '" + name + "'");
}

Node Graph::input_node(std::size_t k) const {
  if (k >= inputs_.size()) {
    throw std::out_of_range("Graph::input_node: " + std::to_string(k) + " but the graph has " +
                            std::to_string(inputs_.size()) + " inputs");
  }
  return Node{inputs_[k]};
}

std::size_t Graph::node_count() const noexcept { return nodes_.size(); }

std::size_t Graph::output_count() const noexcept {
  if (!outputs_.empty()) return outputs_.size();
  return layer_nodes_.empty() ? 0 : 1;
}

Node Graph::output_node(std::size_t k) const {
  if (k >= output_count()) {
    throw std::out_of_range("Graph::output_node: " + std::to_string(k) + " but the graph has " +
                            std::to_string(output_count()) + " outputs");
  }
  return Node{outputs_.empty() ? layer_nodes_.back() : outputs_[k]};
}

const Shape& Graph::in_shape() const {
  if (layer_nodes_.empty()) throw std::logic_error("Graph: the network has no layers");
  if (inputs_.size() != 1) {
    throw std::logic_error("Graph: in_shape() of a graph of " + std::to_string(inputs_.size()) +
                           " inputs; use node_shape(input_node(k))");
  }
  return nodes_[inputs_[0]].shape;
}

const Shape& Graph::out_shape() const {
  if (layer_nodes_.empty()) throw std::logic_error("Graph: the network has no layers");
  if (output_count() != 1) {
    throw std::logic_error("Graph: out_shape() of a graph of " + std::to_string(output_count()) +
                           " outputs; use node_shape(output_node(k))");
  }
  return nodes_[output_node(0).index].shape;
}

std::int64_t Graph::parameter_count() const noexcept {
  std::int64_t n = 0;
  for (const std::size_t i : layer_nodes_) n += nodes_[i].layer->parameter_count();
  return n;
}

std::int64_t Graph::buffer_count() const noexcept {
  std::int64_t n = 0;
  for (const std::size_t i : layer_nodes_) n += nodes_[i].layer->buffer_count();
  return n;
}

void Graph::build() {
  if (built_) return;
  if (layer_nodes_.empty()) throw std::logic_error("Graph: the network has no layers");
  const std::size_t count = nodes_.size();
  auto plan = std::make_unique<Plan>();
  for (std::size_t k = 0; k < output_count(); ++k) nodes_[output_node(k).index].output_index = k;

  // Consumers of each node, in (node, slot) order, and whether every node leads to an output.
  std::vector<std::vector<std::pair<std::size_t, std::size_t>>> consumers(count);
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t s = 0; s < nodes_[i].inputs.size(); ++s) consumers[nodes_[i].inputs[s]].emplace_back(i, s);
  }
  std::vector<char> useful(count, 0);
  for (std::size_t i = count; i-- > 0;) {
    useful[i] = nodes_[i].output_index != kNone;
    for (const auto& [c, s] : consumers[i]) useful[i] = useful[i] || useful[c];
    if (!useful[i]) {
      throw std::logic_error("Graph: " + describe(Node{i}) +
                             " leads to no output of the graph; remove it or make it an output (set_outputs)");
    }
  }
  const auto uses = [&](std::size_t i) { return consumers[i].size() + (nodes_[i].output_index != kNone ? 1 : 0); };

  // Fusing an activation makes its input and output one buffer, and absorbing its derivative skips
  // its backward: both are right only when the derivative comes from the output alone, and only when
  // the buffer in question has no other reader.
  for (const std::size_t i : layer_nodes_) {
    const Layer& l = *nodes_[i].layer;
    if (l.epilogue_activation() && !l.derivative_from_output()) {
      throw std::logic_error("Graph: " + describe(Node{i}) +
                             " offers its activation to a GEMM epilogue, but its derivative needs its input "
                             "(derivative_from_output() is false): it must not be fused");
    }
  }
  for (const std::size_t i : layer_nodes_) {
    NodeData& n = nodes_[i];
    const auto activation = n.layer->epilogue_activation();
    if (!activation || n.inputs.size() != 1) continue;
    NodeData& p = nodes_[n.inputs[0]];
    n.fused = p.layer && !p.fused && uses(n.inputs[0]) == 1 && p.layer->fuse(*activation);
  }
  for (const std::size_t i : layer_nodes_) {
    NodeData& n = nodes_[i];
    const auto activation = n.layer->epilogue_activation();
    if (!activation || n.inputs.size() != 1 || uses(i) != 1 || consumers[i].size() != 1) continue;
    NodeData& c = nodes_[consumers[i][0].first];
    n.absorbed = !c.layer->merges_inputs() && c.layer->absorb_input_derivative(*activation);
  }

  // Gradient contributions: consumer c's slot s gives to its input, or past an absorbed activation to
  // that activation's input. Ordered as backward runs them: consumers from last to first, slots in
  // order.
  const auto receiver = [&](std::size_t c, std::size_t s) {
    const std::size_t p = nodes_[c].inputs[s];
    return nodes_[p].absorbed ? nodes_[p].inputs[0] : p;
  };
  std::vector<std::size_t> birth(count, kNone);  // the backward step writing a node's first contribution
  std::vector<std::size_t> late(count, 0);       // non-first contributions made at each step
  for (std::size_t c = count; c-- > 0;) {
    if (!nodes_[c].layer || nodes_[c].absorbed) continue;
    for (std::size_t s = 0; s < nodes_[c].inputs.size(); ++s) {
      const std::size_t p = receiver(c, s);
      NodeData& r = nodes_[p];
      if (r.first_contributor == kNone && r.output_index == kNone) {
        r.first_contributor = c;
        r.first_slot = s;
        birth[p] = c;
      } else {
        ++late[c];
        plan->scratch_elements = std::max(plan->scratch_elements, r.shape.elements());
      }
    }
    plan->scratch_count = std::max(plan->scratch_count, late[c]);
  }
  // Gradient buffers by liveness: a layer node's is needed from its first contribution until its own
  // backward, so buffers are shared among nodes whose spans do not overlap (a deep chain needs two).
  std::vector<int> free_slots;
  for (std::size_t t = count; t-- > 0;) {
    for (std::size_t p = 0; p < t; ++p) {
      NodeData& r = nodes_[p];
      if (birth[p] != t || !r.layer) continue;
      int slot = -1;
      if (!free_slots.empty()) {
        slot = free_slots.back();
        free_slots.pop_back();
      } else {
        slot = static_cast<int>(plan->slot_elements.size());
        plan->slot_elements.push_back(0);
      }
      r.grad_slot = slot;
      auto& e = plan->slot_elements[static_cast<std::size_t>(slot)];
      e = std::max(e, r.shape.elements());
    }
    if (nodes_[t].grad_slot >= 0) free_slots.push_back(nodes_[t].grad_slot);
  }
  plan->needs_grad.assign(count, 0);
  plan->written.assign(count, 0);
  plan->d_inputs.assign(inputs_.size(), nullptr);

  const std::int64_t total = parameter_count();
  params_ = Tensor(Shape{total});
  grads_ = Tensor(Shape{total});
  std::int64_t offset = 0;
  for (const std::size_t i : layer_nodes_) {
    Layer& l = *nodes_[i].layer;
    l.bind(params_.data() + offset, grads_.data() + offset);
    offset += l.parameter_count();
  }
  if (const std::int64_t n = buffer_count(); n > 0) buffers_ = Tensor(Shape{n});
  offset = 0;
  for (const std::size_t i : layer_nodes_) {
    Layer& l = *nodes_[i].layer;
    if (l.buffer_count() > 0) l.bind_buffers(buffers_.data() + offset);
    offset += l.buffer_count();
  }
  // Inference folding: a layer whose evaluation is a per-channel affine map (BatchNorm) after a
  // Dense or Conv2D that only it reads becomes part of that layer's weights in evaluation mode.
  for (const std::size_t i : layer_nodes_) {
    NodeData& n = nodes_[i];
    if (n.inputs.size() != 1 || n.fused || n.absorbed) continue;
    const std::size_t p = n.inputs[0];
    const NodeData& in = nodes_[p];
    if (!in.layer || in.fused || uses(p) != 1 || !in.layer->folds_output_affine()) continue;
    const auto channels = static_cast<std::size_t>(in.shape[in.shape.rank() - 1]);
    plan->fold_scale.resize(std::max(plan->fold_scale.size(), channels));
    plan->fold_shift.resize(plan->fold_scale.size());
    if (n.layer->inference_affine({plan->fold_scale.data(), channels}, {plan->fold_shift.data(), channels})) {
      n.folded = true;
      plan->folds.push_back(i);
    }
  }
  for (const std::size_t i : layer_nodes_) {
    NodeData& n = nodes_[i];
    n.layer->set_profiling(profiling_);
    if (!n.layer->merges_inputs() && !nodes_[n.inputs[0]].layer) n.layer->set_reads_data(true);
  }
  input_views_.resize(inputs_.size());
  output_views_.resize(output_count());
  output_gradient_views_.resize(output_count());
  plan->output_gradients.resize(output_count());
  plan_ = std::move(plan);
  built_ = true;
  // Usable at once, as in PyTorch; initialize() draws again from the caller's seed.
  initialize(0);
}

void Graph::initialize(std::uint64_t seed, Init init) {
  build();
  for (std::size_t i = 0; i < layer_nodes_.size(); ++i) {
    Rng rng(seed, i);
    nodes_[layer_nodes_[i]].layer->initialize(init, rng);
  }
}

void Graph::reserve(std::int64_t batch) {
  if (batch <= capacity_) return;
  // Grown to the largest batch seen; smaller batches (an epoch's last) use views of the same buffers.
  for (const std::size_t i : layer_nodes_) {
    NodeData& n = nodes_[i];
    n.output = n.fused ? Tensor() : Tensor(n.shape.with_batch(batch));
  }
  Plan& plan = *plan_;
  plan.slots.clear();
  for (const std::int64_t e : plan.slot_elements) plan.slots.emplace_back(Shape{batch * e});
  plan.scratch.clear();
  for (std::size_t s = 0; s < plan.scratch_count; ++s) plan.scratch.emplace_back(Shape{batch * plan.scratch_elements});
  for (std::size_t k = 0; k < output_count(); ++k) {
    plan.output_gradients[k] = Tensor(nodes_[output_node(k).index].shape.with_batch(batch));
  }
  capacity_ = batch;
}

std::int64_t Graph::activation_floats() const noexcept {
  std::int64_t n = 0;
  for (const NodeData& d : nodes_) n += d.output.size();
  if (plan_) {
    for (const Tensor& t : plan_->slots) n += t.size();
    for (const Tensor& t : plan_->scratch) n += t.size();
    for (const Tensor& t : plan_->output_gradients) n += t.size();
  }
  return n;
}

Tensor Graph::output_of(std::size_t node) {
  while (nodes_[node].fused || (folding_active_ && nodes_[node].folded)) node = nodes_[node].inputs[0];
  NodeData& n = nodes_[node];
  if (!n.layer) return input_views_[n.input_index].view();
  return Tensor::view(n.output.data(), n.shape.with_batch(batch_));
}

const Tensor& Graph::forward(const Tensor& x) {
  if (inputs_.size() != 1 || output_count() != 1) {
    build();
    throw std::logic_error("Graph::forward(x) takes graphs of one input and one output; this one has " +
                           std::to_string(inputs_.size()) + " and " + std::to_string(output_count()) +
                           ": use forward_all");
  }
  return forward_all({&x, 1})[0];
}

std::span<const Tensor> Graph::forward_all(std::span<const Tensor> xs) {
  build();
  if (xs.size() != inputs_.size()) {
    throw std::invalid_argument("Graph::forward: the graph has " + std::to_string(inputs_.size()) + " inputs, given " +
                                std::to_string(xs.size()));
  }
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Shape& shape = nodes_[inputs_[k]].shape;
    const Tensor& x = xs[k];
    if (x.rank() == 0 || !(x.shape().without_batch() == shape) || x.rows() != xs[0].rows()) {
      const std::string which = inputs_.size() == 1 ? "input" : "input " + std::to_string(k);
      throw std::invalid_argument("Graph::forward: " + which + " must have shape " +
                                  shape.with_batch(xs[0].rank() == 0 ? 0 : xs[0].rows()).to_string() +
                                  " (batch first), got " + x.shape().to_string());
    }
  }
  batch_ = xs[0].rows();
  reserve(batch_);
  set_folding(!training_ && !plan_->folds.empty());
  for (std::size_t k = 0; k < xs.size(); ++k) input_views_[k] = xs[k].view();
  for (const std::size_t i : layer_nodes_) forward_node(i);
  for (std::size_t k = 0; k < output_count(); ++k) {
    const std::size_t o = output_node(k).index;
    output_views_[k] = output_of(o);
    output_gradient_views_[k] = Tensor::view(plan_->output_gradients[k].data(), nodes_[o].shape.with_batch(batch_));
  }
  ran_forward_ = true;
  return output_views_;
}

void Graph::set_folding(bool on) {
  Plan& plan = *plan_;
  if (on) {
    // From the current parameters and running statistics, at every forward: they may have been
    // written through any view since (an optimizer's, a gradient check's), and folding costs one
    // pass over the folded layers' weights, which their forward reads anyway.
    for (const std::size_t i : plan.folds) {
      NodeData& n = nodes_[i];
      const auto channels = static_cast<std::size_t>(n.shape[n.shape.rank() - 1]);
      const std::span<float> scale(plan.fold_scale.data(), channels), shift(plan.fold_shift.data(), channels);
      n.layer->inference_affine(scale, shift);
      nodes_[n.inputs[0]].layer->set_output_affine(scale, shift);
    }
  } else if (folding_active_) {
    for (const std::size_t i : plan.folds) nodes_[nodes_[i].inputs[0]].layer->set_output_affine({}, {});
  }
  folding_active_ = on;
}

void Graph::forward_node(std::size_t i) {
  NodeData& n = nodes_[i];
  ++n.forward_calls;
  if (n.fused || (folding_active_ && n.folded)) return;
  const double start = profiling_ ? detail::now_seconds() : 0.0;
  Tensor out = output_of(i);
  if (n.layer->merges_inputs()) {
    for (std::size_t s = 0; s < n.inputs.size(); ++s) n.xs[s] = output_of(n.inputs[s]);
    static_cast<MergeLayer&>(*n.layer).forward_inputs(n.xs, out);
  } else {
    n.layer->forward(output_of(n.inputs[0]), out);
  }
  if (profiling_) {
    n.forward_seconds += detail::now_seconds() - start;
    n.forward_flops += n.layer->flops_per_example() * static_cast<double>(batch_);
  }
}

Tensor& Graph::output_gradient(std::size_t k) {
  if (k >= output_gradient_views_.size()) {
    build();
    if (k >= output_gradient_views_.size()) {
      throw std::out_of_range("Graph::output_gradient: " + std::to_string(k) + " but the graph has " +
                              std::to_string(output_count()) + " outputs");
    }
  }
  return output_gradient_views_[k];
}

void Graph::backward(const Tensor& d_output, Tensor* d_input) {
  if (inputs_.size() != 1 || output_count() != 1) {
    throw std::logic_error("Graph::backward(dy) takes graphs of one input and one output: use backward_all");
  }
  Tensor* const d_inputs[1] = {d_input};
  backward_all({&d_output, 1}, d_inputs);
}

void Graph::backward_all(std::span<const Tensor> d_outputs, std::span<Tensor* const> d_inputs) {
  if (!ran_forward_) throw std::logic_error("Graph::backward: call forward first");
  Plan& plan = *plan_;
  if (d_outputs.size() != output_count()) {
    throw std::invalid_argument("Graph::backward: the graph has " + std::to_string(output_count()) +
                                " outputs, given " + std::to_string(d_outputs.size()) + " gradients");
  }
  if (!d_inputs.empty() && d_inputs.size() != inputs_.size()) {
    throw std::invalid_argument("Graph::backward: the graph has " + std::to_string(inputs_.size()) + " inputs, given " +
                                std::to_string(d_inputs.size()) + " input gradients");
  }
  for (std::size_t k = 0; k < d_outputs.size(); ++k) {
    const Shape expected = nodes_[output_node(k).index].shape.with_batch(batch_);
    if (!(d_outputs[k].shape() == expected)) {
      throw std::invalid_argument("Graph::backward: d_output must have the shape of the last output, " +
                                  expected.to_string() + ", got " + d_outputs[k].shape().to_string());
    }
  }
  for (std::size_t k = 0; k < inputs_.size(); ++k) {
    Tensor* d = d_inputs.empty() ? nullptr : d_inputs[k];
    if (d != nullptr && !(d->shape() == input_views_[k].shape())) {
      throw std::invalid_argument("Graph::backward: d_input must have the shape of the input, " +
                                  input_views_[k].shape().to_string() + ", got " + d->shape().to_string());
    }
    plan.d_inputs[k] = d;
  }
  // Only nodes downstream of a parameter (or of an input whose gradient is asked for) need one.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const NodeData& n = nodes_[i];
    bool needs = n.layer ? n.layer->parameter_count() > 0 : plan.d_inputs[n.input_index] != nullptr;
    for (const std::size_t p : n.inputs) needs = needs || plan.needs_grad[p] != 0;
    plan.needs_grad[i] = needs ? 1 : 0;
    plan.written[i] = 0;
  }
  for (std::size_t k = 0; k < output_count(); ++k) {
    Tensor& own = output_gradient_views_[k];
    if (d_outputs[k].data() != own.data()) own.copy_from(d_outputs[k]);
    plan.written[output_node(k).index] = 1;
  }
  if (folding_active_) {
    // A backward in evaluation mode needs the activations of the unfolded layers: forward again
    // without folding (the inputs are still the caller's, unchanged, as forward requires).
    set_folding(false);
    for (const std::size_t i : layer_nodes_) forward_node(i);
  }
  const bool accumulate = !gradients_cleared_;
  for (std::size_t i = nodes_.size(); i-- > 0;) {
    if (nodes_[i].layer && plan.needs_grad[i]) backward_node(i, accumulate);
  }
  for (std::size_t k = 0; k < inputs_.size(); ++k) {
    Tensor* d = plan.d_inputs[k];
    if (d != nullptr && !plan.written[inputs_[k]]) d->fill(0.0f);
  }
  gradients_cleared_ = false;
}

void Graph::backward_node(std::size_t i, bool accumulate) {
  NodeData& n = nodes_[i];
  Plan& plan = *plan_;
  ++n.backward_calls;
  if (n.absorbed) return;  // its consumer has already written the gradient past it
  const double start = profiling_ ? detail::now_seconds() : 0.0;
  const Shape batch_shape = n.shape.with_batch(batch_);
  const Tensor dy = n.output_index != kNone
                        ? output_gradient_views_[n.output_index].view()
                        : Tensor::view(plan.slots[static_cast<std::size_t>(n.grad_slot)].data(), batch_shape);
  // Where each input slot's contribution goes: straight into the receiver's gradient when it is the
  // first, else into scratch, added below in slot order.
  std::size_t scratch_used = 0;
  bool any_dx = false;
  const auto target = [&](std::size_t s, Tensor& view) -> Tensor* {
    const std::size_t p0 = n.inputs[s];
    const std::size_t p = nodes_[p0].absorbed ? nodes_[p0].inputs[0] : p0;
    if (!plan.needs_grad[p]) return nullptr;
    NodeData& r = nodes_[p];
    const Shape shape = r.shape.with_batch(batch_);
    float* where = nullptr;
    if (plan.written[p]) {
      where = plan.scratch[scratch_used++].data();
    } else if (!r.layer) {
      where = plan.d_inputs[r.input_index]->data();
    } else {
      where = plan.slots[static_cast<std::size_t>(r.grad_slot)].data();
    }
    view = Tensor::view(where, shape);
    any_dx = true;
    return &view;
  };
  const auto finish = [&](std::size_t s, const Tensor* written_to) {
    if (written_to == nullptr) return;
    const std::size_t p0 = n.inputs[s];
    const std::size_t p = nodes_[p0].absorbed ? nodes_[p0].inputs[0] : p0;
    NodeData& r = nodes_[p];
    if (!plan.written[p]) {
      plan.written[p] = 1;
      return;
    }
    float* sum = !r.layer                  ? plan.d_inputs[r.input_index]->data()
                 : r.output_index != kNone ? output_gradient_views_[r.output_index].data()
                                           : plan.slots[static_cast<std::size_t>(r.grad_slot)].data();
    const float* add = written_to->data();
    detail::for_each_chunk(written_to->size(), detail::kElementwiseChunk, [=](std::int64_t b, std::int64_t e) {
      for (std::int64_t j = b; j < e; ++j) sum[j] += add[j];
    });
  };
  if (n.layer->merges_inputs()) {
    for (std::size_t s = 0; s < n.inputs.size(); ++s) {
      n.xs[s] = output_of(n.inputs[s]);
      n.dx_ptrs[s] = target(s, n.dxs[s]);
    }
    static_cast<MergeLayer&>(*n.layer).backward_inputs(n.xs, output_of(i), dy, n.dx_ptrs);
    for (std::size_t s = 0; s < n.inputs.size(); ++s) finish(s, n.dx_ptrs[s]);
  } else {
    Tensor dx;
    Tensor* dx_target = target(0, dx);
    n.layer->backward(output_of(n.inputs[0]), output_of(i), dy, dx_target, accumulate);
    finish(0, dx_target);
  }
  if (profiling_) {
    n.backward_seconds += detail::now_seconds() - start;
    const double passes = any_dx ? 2.0 : 1.0;
    n.backward_flops += passes * n.layer->flops_per_example() * static_cast<double>(batch_);
  }
}

void Graph::train() {
  training_ = true;
  for (const std::size_t i : layer_nodes_) nodes_[i].layer->set_training(true);
}

void Graph::eval() {
  training_ = false;
  for (const std::size_t i : layer_nodes_) nodes_[i].layer->set_training(false);
}

void Graph::set_random_stream(std::uint64_t stream) {
  for (const std::size_t i : layer_nodes_) nodes_[i].layer->set_random_stream(stream);
}

Tensor Graph::parameters() {
  build();
  return params_.view();
}

Tensor Graph::buffers() {
  build();
  return buffers_.empty() ? Tensor() : buffers_.view();
}

Tensor Graph::gradients() {
  build();
  if (gradients_cleared_) {
    // Really zero now: whatever the caller writes into them stays (a data-parallel step sums them
    // across processes even where this one had no examples).
    grads_.fill(0.0f);
    gradients_cleared_ = false;
  }
  return grads_.view();
}

void Graph::set_profiling(bool on) {
  profiling_ = on;
  for (const std::size_t i : layer_nodes_) nodes_[i].layer->set_profiling(on);
}

std::vector<LayerProfile> Graph::profile() const {
  std::vector<LayerProfile> out;
  for (const std::size_t i : layer_nodes_) {
    const NodeData& n = nodes_[i];
    LayerProfile p;
    p.name = n.layer->name() + (n.fused ? " (fused)" : "") + (n.folded && folding_active_ ? " (folded)" : "");
    p.gemm_seconds = n.layer->gemm_seconds();
    p.forward_seconds = n.forward_seconds;
    p.backward_seconds = n.backward_seconds;
    p.forward_flops = n.forward_flops;
    p.backward_flops = n.backward_flops;
    p.forward_calls = n.forward_calls;
    p.backward_calls = n.backward_calls;
    out.push_back(std::move(p));
  }
  return out;
}

void Graph::reset_profile() {
  for (NodeData& n : nodes_) {
    n.forward_seconds = n.backward_seconds = n.forward_flops = n.backward_flops = 0.0;
    n.forward_calls = n.backward_calls = 0;
    if (n.layer) n.layer->reset_profile();
  }
}

std::string Graph::summary() const {
  // A chain (each layer reading the node just before it) prints as before; otherwise inputs are named.
  bool chain = inputs_.size() == 1 && output_count() == 1;
  for (std::size_t i = 0; chain && i < nodes_.size(); ++i) {
    chain = !nodes_[i].layer || (nodes_[i].inputs.size() == 1 && nodes_[i].inputs[0] + 1 == i);
  }
  std::ostringstream os;
  os << std::left << std::setw(24) << "layer" << std::setw(16) << "output" << std::setw(12) << "parameters"
     << (chain ? "" : "inputs") << "\n";
  for (const std::size_t i : layer_nodes_) {
    const NodeData& n = nodes_[i];
    os << std::setw(24) << n.layer->name() << std::setw(16) << n.shape.to_string() << std::setw(12)
       << n.layer->parameter_count();
    if (!chain) {
      os << n.name << " <- ";
      for (std::size_t s = 0; s < n.inputs.size(); ++s) os << (s ? ", " : "") << nodes_[n.inputs[s]].name;
    }
    os << "\n";
  }
  os << "total parameters: " << parameter_count() << "\n";
  return os.str();
}

}  // namespace tessera
