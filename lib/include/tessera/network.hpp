// Sequential: a chain of layers with every parameter in one flat 64-byte-aligned buffer, every gradient
// in a second of the same layout, and activations allocated once per batch size.
//   tessera::Sequential net(tessera::Dense(784, 100), tessera::Sigmoid(), tessera::Dense(100, 10));
//   net.initialize(seed);
//   const tessera::Tensor& y = net.forward(x);         // x: [B, 784] → y: [B, 10]
//   loss.compute(y, labels, &net.output_gradient());   // dy into the network's own buffer
//   net.backward(net.output_gradient());
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

class Sequential {
 public:
  Sequential() = default;
  // Sequential(Dense(784, 100), ReLU(), Dense(100, 10)): each layer is moved in and connected.
  template <class... Layers>
  requires(sizeof...(Layers) > 0 &&
           (std::is_base_of_v<Layer, std::decay_t<Layers>> && ...)) explicit Sequential(Layers&&... layers) {
    (add(std::forward<Layers>(layers)), ...);
  }
  // A network for examples of shape `input` (an image: [height, width, channels]), for a first layer
  // that takes many shapes, such as Conv2D. Throws std::invalid_argument for an empty shape.
  explicit Sequential(Shape input);
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  Sequential(const Sequential&) = delete;
  Sequential& operator=(const Sequential&) = delete;
  ~Sequential();

  // Appends a layer, connecting it to the previous one's output. Throws std::invalid_argument naming
  // both layers and shapes when they do not fit, and std::logic_error once the network is built (by
  // initialize(), forward(), parameters() or gradients()).
  template <class L>
  requires std::is_base_of_v<Layer, std::decay_t<L>> Sequential& add(L&& layer) {
    return add(std::unique_ptr<Layer>(std::make_unique<std::decay_t<L>>(std::forward<L>(layer))));
  }
  Sequential& add(std::unique_ptr<Layer> layer);

  std::size_t size() const noexcept { return layers_.size(); }
  Layer& layer(std::size_t i);
  const Layer& layer(std::size_t i) const;
  // The input shape given at construction, if any.
  const std::optional<Shape>& fixed_in_shape() const noexcept { return input_shape_; }
  // Shapes of one example. Throws std::logic_error for an empty network.
  const Shape& in_shape() const;
  const Shape& out_shape() const;
  std::int64_t parameter_count() const noexcept;
  // Floats of state saved but not trained (buffers()), over all layers.
  std::int64_t buffer_count() const noexcept;

  // Draws every parameter from `seed` (layer i from the Rng stream i): the same values on any machine
  // and thread count.
  void initialize(std::uint64_t seed, Init init = Init::XavierUniform);

  // x: [B, in...] → [B, out...]. The result is a view of the network's own buffer, valid until the
  // next forward; x must stay alive and unchanged until backward. Throws std::invalid_argument when
  // x's shape is not [B, in...].
  const Tensor& forward(const Tensor& x);
  // The network's buffer for ∂L/∂output, for a loss to write into. The same Tensor object throughout;
  // each forward points it at a buffer of its batch's shape (so taking it in the same expression as
  // forward, as above, is fine).
  Tensor& output_gradient() noexcept;
  // Backpropagates d_output ([B, out...] for the last forward's B) and writes the parameter
  // gradients: overwriting them after zero_grad(), adding to them otherwise (as PyTorch does). When
  // d_input is not null, also writes ∂L/∂x into it ([B, in...]).
  void backward(const Tensor& d_output, Tensor* d_input = nullptr);

  void train();
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
  std::vector<LayerProfile> profile() const;
  void reset_profile();
  // One line per layer: name, output shape, parameters.
  std::string summary() const;

 private:
  // Per layer: its activation buffers and timings.
  struct Slot {
    // The activation this layer computes is applied by the previous layer's epilogue: forward skips
    // it, and its output buffer is the previous layer's.
    bool fused = false;
    // This activation's derivative is applied by the next layer's backward: its own is skipped, and
    // the next layer writes its input gradient straight into the previous layer's buffer.
    bool absorbed = false;
    Tensor output;    // capacity × out elements (empty when fused)
    Tensor gradient;  // capacity × out elements: ∂L/∂output
    double forward_seconds = 0.0, backward_seconds = 0.0;
    double forward_flops = 0.0, backward_flops = 0.0;
    std::int64_t forward_calls = 0, backward_calls = 0;
  };

  void build();
  void reserve(std::int64_t batch);
  // The activation buffer of layer i for the current batch ([B, out_i...]).
  Tensor output_of(std::size_t i);
  Tensor gradient_of(std::size_t i);

  std::optional<Shape> input_shape_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Slot> slots_;
  Tensor params_, grads_, buffers_;
  Tensor input_;
  Tensor output_view_, output_gradient_view_;
  std::int64_t batch_ = 0, capacity_ = 0;
  bool built_ = false;
  bool training_ = true;
  bool gradients_cleared_ = true;
  bool profiling_ = false;
};

}  // namespace tessera
