// The interface every layer implements: shapes, parameters as views into the network's flat buffers,
// and a forward/backward pair.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tessera/gemm.hpp"
#include "tessera/init.hpp"
#include "tessera/tensor.hpp"

namespace tessera {

// What a model file records of a layer: its kind and integer arguments, e.g. {"Dense", {784, 100}}.
struct LayerSpec {
  std::string kind;
  std::vector<std::int64_t> args;
  friend bool operator==(const LayerSpec&, const LayerSpec&) = default;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // What the layer is, with its sizes: "Dense(784, 100)".
  virtual std::string name() const = 0;
  // Kind and arguments, enough for make_layer() to build it again.
  virtual LayerSpec spec() const = 0;

  // Shapes of one example (no batch extent). Valid once connected; Sequential connects its layers
  // when it is built.
  const Shape& in_shape() const noexcept { return in_shape_; }
  const Shape& out_shape() const noexcept { return out_shape_; }
  bool connected() const noexcept { return connected_; }
  // The input shape the layer insists on (Dense(in, out): [in]), or nullopt when it takes any shape.
  virtual std::optional<Shape> required_in_shape() const { return std::nullopt; }
  // Sets the shapes for inputs of shape `in`; throws std::invalid_argument naming the layer and the
  // shapes when the layer cannot take `in`.
  void connect(const Shape& in);
  // Whether the layer combines several inputs (Add, Concat: a MergeLayer, which a Graph connects and
  // runs through its own interface); every other layer takes one.
  virtual bool merges_inputs() const { return false; }

  virtual std::int64_t parameter_count() const { return 0; }
  // Floating-point operations of forward for one example (multiply-adds count two); backward costs
  // this once more for the parameter gradients and once more for the input gradient.
  virtual double flops_per_example() const { return 0.0; }
  // For initialisation: inputs and outputs each output and input is connected to.
  virtual std::int64_t fan_in() const { return in_shape_.elements(); }
  virtual std::int64_t fan_out() const { return out_shape_.elements(); }
  // Points the layer at parameter_count() floats of parameters and as many of gradients.
  virtual void bind(float* /*values*/, float* /*gradients*/) {}
  virtual void initialize(Init /*init*/, Rng& /*rng*/) {}

  // State saved with the model but never trained ("buffers", as PyTorch calls them: Standardize's
  // means and scales): buffer_count() floats in the network's third flat buffer, which optimizers,
  // weight decay and gradients never see. bind_buffers points the layer at them; the layer writes its
  // current values there when bound.
  virtual std::int64_t buffer_count() const { return 0; }
  virtual void bind_buffers(float* /*buffers*/) {}

  // The elementwise activation this layer computes, when a GEMM epilogue can compute it instead.
  // Only a layer whose derivative_from_output() is true may offer one: fused, its input and output
  // are the same buffer. Sequential checks this (std::logic_error otherwise).
  virtual std::optional<Activation> epilogue_activation() const { return std::nullopt; }
  // Whether backward computes dx from y and dy alone, never reading x (ReLU: 1[y > 0]; sigmoid:
  // y(1 − y)). Layers whose derivative needs their input (GELU, SiLU) say false, and are then never
  // fused into the preceding layer nor their derivative absorbed by the next.
  virtual bool derivative_from_output() const { return false; }
  // Asks the layer to apply `activation` to its own output (the activation layer that follows is then
  // skipped in forward). Returns whether it does.
  virtual bool fuse(Activation /*activation*/) { return false; }

  // x: [B, in...] → y: [B, out...].
  virtual void forward(const Tensor& x, Tensor& y) = 0;
  // Given x, y = forward(x) and dy = ∂L/∂y, all [B, ...]: writes dx = ∂L/∂x when dx is not null, and
  // the parameter gradients, added to the gradient buffer when `accumulate`, else overwriting it.
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) = 0;

  // Asks the layer to apply, in its backward, the derivative of the elementwise `activation` that
  // produced its input (the activation layer before it then has nothing to do in backward). Returns
  // whether it does.
  virtual bool absorb_input_derivative(Activation /*activation*/) { return false; }

  // Folding for inference (Graph::eval folds a BatchNorm into the Dense or Conv2D before it):
  // whether this layer can compute scale[c]·y + shift[c] per output channel c (the last axis)
  // within its own forward, by scaling its weights and bias in a copy;
  virtual bool folds_output_affine() const { return false; }
  // makes forward do so from now on (its parameters unchanged), or, given empty spans, compute what
  // its parameters say again. Only for layers whose folds_output_affine() is true.
  virtual void set_output_affine(std::span<const float> /*scale*/, std::span<const float> /*shift*/) {}
  // The per-channel scale and shift this layer's evaluation-mode forward applies (BatchNorm's:
  // gamma/sqrt(var + eps) and beta − mean·scale from the running statistics), written into the
  // spans (out_shape()'s last extent each); false for layers that are not such a map.
  virtual bool inference_affine(std::span<float> /*scale*/, std::span<float> /*shift*/) const { return false; }

  // Training or evaluation mode (for layers such as dropout that differ).
  virtual void set_training(bool /*training*/) {}

  // Which process of a data-parallel run draws (Sequential::set_random_stream); 0 by default.
  virtual void set_random_stream(std::uint64_t /*stream*/) {}

  // Random state the layer carries from step to step (Dropout's seed and count of masks drawn), so
  // that a checkpoint can resume the exact sequence. Empty for layers without any.
  virtual std::vector<std::uint64_t> random_state() const { return {}; }
  // Takes back a random_state() of a layer of the same kind. Throws std::invalid_argument otherwise.
  virtual void set_random_state(const std::vector<std::uint64_t>& state);
  // Whether this layer reads the network's input (Sequential sets it for its first layer). Data such
  // as images is mostly zeros, which a layer may exploit by checking each batch.
  virtual void set_reads_data(bool /*reads_data*/) {}

  // Seconds spent inside gemm since the last reset, counted while profiling is on.
  double gemm_seconds() const noexcept { return gemm_seconds_; }
  void set_profiling(bool on) noexcept { profiling_ = on; }
  void reset_profile() noexcept { gemm_seconds_ = 0.0; }

 protected:
  // The output shape for inputs of shape `in` (already checked against required_in_shape()); throws
  // std::invalid_argument when the layer cannot take `in`.
  virtual Shape infer_out_shape(const Shape& in) const = 0;
  // For layers connected another way (MergeLayer): records the shapes connect() would have.
  void set_shapes(const Shape& in, const Shape& out);
  // Runs a gemm call (or a group of them), timing it while profiling is on.
  template <class F>
  void timed_gemm(F&& call);
  // For layers that call gemm inside their own parallel tasks and measure the share themselves.
  bool profiling() const noexcept { return profiling_; }
  void add_gemm_seconds(double seconds) noexcept { gemm_seconds_ += seconds; }

 private:
  static double now_seconds() noexcept;

  Shape in_shape_, out_shape_;
  bool connected_ = false;
  bool profiling_ = false;
  double gemm_seconds_ = 0.0;
};

template <class F>
void Layer::timed_gemm(F&& call) {
  if (!profiling_) {
    call();
    return;
  }
  const double start = now_seconds();
  call();
  gemm_seconds_ += now_seconds() - start;
}

// Builds a layer from its spec (as read from a model file): the library's kinds, then those
// registered. Throws std::invalid_argument for an unknown kind or wrong arguments.
std::unique_ptr<Layer> make_layer(const LayerSpec& spec);

// Makes a layer of your own loadable from model files and checkpoints: `factory` builds it from the
// spec its spec() writes (throwing std::invalid_argument for bad arguments). Register before loading
// (and before saving: save_model refuses a network it could not load again). Throws
// std::invalid_argument for an empty kind, one of the library's, or one already registered.
using LayerFactory = std::function<std::unique_ptr<Layer>(const LayerSpec&)>;
void register_layer(const std::string& kind, LayerFactory factory);

}  // namespace tessera
