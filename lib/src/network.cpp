// Sequential: building (shape checks, the flat buffers, fusing activations into the preceding layer's
// epilogue), per-batch activation buffers, and the forward and backward sweeps.
#include "tessera/network.hpp"

#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "timing.hpp"

namespace tessera {

namespace {
std::string describe(std::size_t i, const Layer& layer) { return "layer " + std::to_string(i) + " " + layer.name(); }
}  // namespace

Sequential::Sequential(Shape input) : input_shape_(std::move(input)) {
  if (input_shape_->rank() == 0 || input_shape_->elements() < 1) {
    throw std::invalid_argument("Sequential: the input shape must have at least one element, got " +
                                input_shape_->to_string());
  }
}

Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;
Sequential::~Sequential() = default;

Sequential& Sequential::add(std::unique_ptr<Layer> layer) {
  if (built_) {
    throw std::logic_error(
        "Sequential::add: the network is already built (by initialize, forward, parameters or "
        "gradients); add every layer before that");
  }
  if (!layer) throw std::invalid_argument("Sequential::add: null layer");
  const std::size_t index = layers_.size();
  if (index == 0 && input_shape_) {
    try {
      layer->connect(*input_shape_);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Sequential: the first layer, " + layer->name() + ", cannot take the input shape " +
                                  input_shape_->to_string() + ": " + e.what());
    }
  } else if (index == 0) {
    const auto required = layer->required_in_shape();
    if (!required) {
      throw std::invalid_argument("Sequential: the first layer, " + layer->name() +
                                  ", does not fix an input shape; start with one that does, such as Dense, or "
                                  "give the shape: Sequential(Shape{28, 28, 1})");
    }
    layer->connect(*required);
  } else {
    const Layer& previous = *layers_.back();
    try {
      layer->connect(previous.out_shape());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Sequential: " + describe(index, *layer) + " cannot follow " +
                                  describe(index - 1, previous) + ", whose output has shape " +
                                  previous.out_shape().to_string() + ": " + e.what());
    }
  }
  layers_.push_back(std::move(layer));
  return *this;
}

Layer& Sequential::layer(std::size_t i) {
  if (i >= layers_.size()) {
    throw std::out_of_range("Sequential::layer: index " + std::to_string(i) + " but the network has " +
                            std::to_string(layers_.size()) + " layers");
  }
  return *layers_[i];
}

const Layer& Sequential::layer(std::size_t i) const { return const_cast<Sequential*>(this)->layer(i); }

const Shape& Sequential::in_shape() const {
  if (layers_.empty()) throw std::logic_error("Sequential: the network has no layers");
  return layers_.front()->in_shape();
}

const Shape& Sequential::out_shape() const {
  if (layers_.empty()) throw std::logic_error("Sequential: the network has no layers");
  return layers_.back()->out_shape();
}

std::int64_t Sequential::parameter_count() const noexcept {
  std::int64_t n = 0;
  for (const auto& l : layers_) n += l->parameter_count();
  return n;
}

std::int64_t Sequential::buffer_count() const noexcept {
  std::int64_t n = 0;
  for (const auto& l : layers_) n += l->buffer_count();
  return n;
}

void Sequential::build() {
  if (built_) return;
  if (layers_.empty()) throw std::logic_error("Sequential: the network has no layers");
  const std::int64_t total = parameter_count();
  params_ = Tensor(Shape{total});
  grads_ = Tensor(Shape{total});
  std::int64_t offset = 0;
  for (const auto& l : layers_) {
    l->bind(params_.data() + offset, grads_.data() + offset);
    offset += l->parameter_count();
  }
  if (const std::int64_t n = buffer_count(); n > 0) buffers_ = Tensor(Shape{n});
  offset = 0;
  for (const auto& l : layers_) {
    if (l->buffer_count() > 0) l->bind_buffers(buffers_.data() + offset);
    offset += l->buffer_count();
  }
  slots_.resize(layers_.size());
  // Fusing an activation makes its input and output one buffer, and absorbing its derivative skips
  // its backward: both are right only when the derivative comes from the output alone.
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i]->epilogue_activation() && !layers_[i]->derivative_from_output()) {
      throw std::logic_error("Sequential: " + describe(i, *layers_[i]) +
                             " offers its activation to a GEMM epilogue, but its derivative needs its input "
                             "(derivative_from_output() is false): it must not be fused");
    }
  }
  for (std::size_t i = 1; i < layers_.size(); ++i) {
    const auto activation = layers_[i]->epilogue_activation();
    slots_[i].fused = activation && !slots_[i - 1].fused && layers_[i - 1]->fuse(*activation);
  }
  for (std::size_t i = 0; i + 1 < layers_.size(); ++i) {
    const auto activation = layers_[i]->epilogue_activation();
    slots_[i].absorbed = activation && layers_[i + 1]->absorb_input_derivative(*activation);
  }
  for (const auto& l : layers_) l->set_profiling(profiling_);
  layers_.front()->set_reads_data(true);
  built_ = true;
  // Usable at once, as in PyTorch; initialize() draws again from the caller's seed.
  initialize(0);
}

void Sequential::initialize(std::uint64_t seed, Init init) {
  build();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Rng rng(seed, i);
    layers_[i]->initialize(init, rng);
  }
}

void Sequential::reserve(std::int64_t batch) {
  if (batch <= capacity_) return;
  // Grown to the largest batch seen; smaller batches (an epoch's last) use views of the same buffers.
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Shape shape = layers_[i]->out_shape().with_batch(batch);
    slots_[i].output = slots_[i].fused ? Tensor() : Tensor(shape);
    slots_[i].gradient = Tensor(shape);
  }
  capacity_ = batch;
}

Tensor Sequential::output_of(std::size_t i) {
  while (slots_[i].fused) --i;
  return Tensor::view(slots_[i].output.data(), layers_[i]->out_shape().with_batch(batch_));
}

Tensor Sequential::gradient_of(std::size_t i) {
  return Tensor::view(slots_[i].gradient.data(), layers_[i]->out_shape().with_batch(batch_));
}

const Tensor& Sequential::forward(const Tensor& x) {
  build();
  if (x.rank() == 0 || !(x.shape().without_batch() == in_shape())) {
    throw std::invalid_argument("Sequential::forward: input must have shape " +
                                in_shape().with_batch(x.rank() == 0 ? 0 : x.rows()).to_string() +
                                " (batch first), got " + x.shape().to_string());
  }
  batch_ = x.rows();
  reserve(batch_);
  input_ = x.view();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Slot& slot = slots_[i];
    ++slot.forward_calls;
    if (slot.fused) continue;
    const double start = profiling_ ? detail::now_seconds() : 0.0;
    Tensor out = output_of(i);
    layers_[i]->forward(i == 0 ? input_ : output_of(i - 1), out);
    if (profiling_) {
      slot.forward_seconds += detail::now_seconds() - start;
      slot.forward_flops += layers_[i]->flops_per_example() * static_cast<double>(batch_);
    }
  }
  output_view_ = output_of(layers_.size() - 1);
  output_gradient_view_ = gradient_of(layers_.size() - 1);
  return output_view_;
}

Tensor& Sequential::output_gradient() noexcept { return output_gradient_view_; }

void Sequential::backward(const Tensor& d_output, Tensor* d_input) {
  if (input_.rank() == 0) throw std::logic_error("Sequential::backward: call forward first");
  const Shape expected = out_shape().with_batch(batch_);
  if (!(d_output.shape() == expected)) {
    throw std::invalid_argument("Sequential::backward: d_output must have the shape of the last output, " +
                                expected.to_string() + ", got " + d_output.shape().to_string());
  }
  if (d_input != nullptr && !(d_input->shape() == input_.shape())) {
    throw std::invalid_argument("Sequential::backward: d_input must have the shape of the input, " +
                                input_.shape().to_string() + ", got " + d_input->shape().to_string());
  }
  // Nothing before the first layer with parameters needs a gradient, unless the caller wants ∂L/∂x.
  std::size_t first = 0;
  if (d_input == nullptr) {
    while (first + 1 < layers_.size() && layers_[first]->parameter_count() == 0) ++first;
  }
  const bool accumulate = !gradients_cleared_;
  for (std::size_t i = layers_.size(); i-- > first;) {
    Slot& slot = slots_[i];
    ++slot.backward_calls;
    if (slot.absorbed) continue;  // the next layer has already written the gradient past it
    const double start = profiling_ ? detail::now_seconds() : 0.0;
    const Tensor x = i == 0 ? input_ : output_of(i - 1);
    const Tensor dy = i + 1 == layers_.size() ? d_output.view() : gradient_of(i);
    // The layer that receives the input gradient: the previous one, or the one before an activation
    // whose derivative this layer applies (-1: the network's input).
    const auto receiver = static_cast<std::ptrdiff_t>(i) - (i > 0 && slots_[i - 1].absorbed ? 2 : 1);
    const bool wanted = receiver >= static_cast<std::ptrdiff_t>(first);
    Tensor dx = wanted ? gradient_of(static_cast<std::size_t>(receiver)) : Tensor();
    Tensor* dx_target = wanted ? &dx : (receiver == -1 ? d_input : nullptr);
    layers_[i]->backward(x, output_of(i), dy, dx_target, accumulate);
    if (profiling_) {
      slot.backward_seconds += detail::now_seconds() - start;
      const double passes = dx_target != nullptr ? 2.0 : 1.0;
      slot.backward_flops += passes * layers_[i]->flops_per_example() * static_cast<double>(batch_);
    }
  }
  gradients_cleared_ = false;
}

void Sequential::train() {
  training_ = true;
  for (auto& l : layers_) l->set_training(true);
}

void Sequential::set_random_stream(std::uint64_t stream) {
  for (auto& l : layers_) l->set_random_stream(stream);
}

void Sequential::eval() {
  training_ = false;
  for (auto& l : layers_) l->set_training(false);
}

Tensor Sequential::parameters() {
  build();
  return params_.view();
}

Tensor Sequential::buffers() {
  build();
  return buffers_.empty() ? Tensor() : buffers_.view();
}

Tensor Sequential::gradients() {
  build();
  if (gradients_cleared_) {
    // Really zero now: whatever the caller writes into them stays (a data-parallel step sums them
    // across processes even where this one had no examples).
    grads_.fill(0.0f);
    gradients_cleared_ = false;
  }
  return grads_.view();
}

void Sequential::set_profiling(bool on) {
  profiling_ = on;
  for (auto& l : layers_) l->set_profiling(on);
}

std::vector<LayerProfile> Sequential::profile() const {
  std::vector<LayerProfile> out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const bool fused = i < slots_.size() && slots_[i].fused;
    LayerProfile p;
    p.name = layers_[i]->name() + (fused ? " (fused)" : "");
    p.gemm_seconds = layers_[i]->gemm_seconds();
    if (i < slots_.size()) {
      p.forward_seconds = slots_[i].forward_seconds;
      p.backward_seconds = slots_[i].backward_seconds;
      p.forward_flops = slots_[i].forward_flops;
      p.backward_flops = slots_[i].backward_flops;
      p.forward_calls = slots_[i].forward_calls;
      p.backward_calls = slots_[i].backward_calls;
    }
    out.push_back(std::move(p));
  }
  return out;
}

void Sequential::reset_profile() {
  for (auto& s : slots_) {
    s.forward_seconds = s.backward_seconds = s.forward_flops = s.backward_flops = 0.0;
    s.forward_calls = s.backward_calls = 0;
  }
  for (auto& l : layers_) l->reset_profile();
}

std::string Sequential::summary() const {
  std::ostringstream os;
  os << std::left << std::setw(24) << "layer" << std::setw(16) << "output"
     << "parameters\n";
  for (const auto& l : layers_) {
    os << std::setw(24) << l->name() << std::setw(16) << l->out_shape().to_string() << l->parameter_count() << "\n";
  }
  os << "total parameters: " << parameter_count() << "\n";
  return os.str();
}

}  // namespace tessera
