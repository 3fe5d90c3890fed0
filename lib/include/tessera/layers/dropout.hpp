// Dropout: in training, each input is zeroed with probability p and the others scaled by 1/(1 − p);
// in evaluation, the identity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/layers/layer.hpp"

namespace tessera {

class Dropout final : public Layer {
 public:
  // Throws std::invalid_argument unless 0 <= p < 1.
  explicit Dropout(float p);

  std::string name() const override;
  // The probability is recorded by its bits, so that a model file gives back exactly this p.
  LayerSpec spec() const override;
  float p() const noexcept { return p_; }

  // The masks come from the seed the network's initialize() gives this layer: the n-th training
  // forward after it draws the same mask on any machine and thread count.
  void initialize(Init init, Rng& rng) override;
  void set_training(bool training) override { training_ = training; }
  bool training() const noexcept { return training_; }
  // Stream s > 0 (process s of a data-parallel run) draws its masks from a seed of its own.
  void set_random_stream(std::uint64_t stream) override;
  // {seed, masks drawn}.
  std::vector<std::uint64_t> random_state() const override { return {seed_, draws_}; }
  void set_random_state(const std::vector<std::uint64_t>& state) override;

  void forward(const Tensor& x, Tensor& y) override;
  // dx = dy · the mask of the last training forward (dy itself in evaluation).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) override;

 protected:
  Shape infer_out_shape(const Shape& in) const override { return in; }

 private:
  float p_;
  bool training_ = true;
  bool masked_ = false;  // whether the last forward applied a mask
  std::uint64_t seed_ = 0;
  std::uint64_t draws_ = 0;  // training forwards since initialize()
  std::uint64_t stream_ = 0;
  std::vector<float> mask_;  // 0 or 1/(1 − p) per element of the last training forward
};

}  // namespace tessera
