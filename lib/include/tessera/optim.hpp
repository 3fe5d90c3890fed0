// Optimizers over the network's flat buffers: each step is one vectorised loop over all parameters,
// split over threads in fixed chunks. PyTorch's names and formulas.
//   tessera::SGD opt(net, tessera::SGDOptions(0.1f).momentum(0.9f));
//   opt.zero_grad(); ... net.backward(dy); opt.step();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/schedule.hpp"
#include "tessera/tensor.hpp"

namespace tessera {

class Graph;

// What a checkpoint keeps of an optimizer besides the parameters.
struct OptimizerState {
  std::string kind;  // "SGD" or "Adam": only an optimizer of the same kind takes it back
  std::int64_t steps = 0;
  float base_learning_rate = 0.0f;
  std::vector<std::vector<float>> buffers;  // SGD: the momentum (none without); Adam: m, then v
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string name() const = 0;
  // One update of the parameters from the gradients, at learning_rate().
  void step();
  // Clears the gradients (for a network, lazily: its next backward overwrites instead of adding).
  void zero_grad();
  // The rate the next step() uses: the base rate times the schedule's factor.
  float learning_rate() const noexcept;
  float base_learning_rate() const noexcept { return base_lr_; }
  // Changes the base rate (the schedule still applies). Throws unless lr > 0 and finite.
  void set_base_learning_rate(float lr);
  // Steps taken so far.
  std::int64_t step_count() const noexcept { return steps_; }
  std::int64_t size() const noexcept { return params_.size(); }
  // The optimizer's family without its settings ("SGD", "Adam"): what a saved state must match.
  virtual std::string kind() const { return name(); }

  // A copy of the step count, base rate and buffers, for a checkpoint.
  OptimizerState state() const;
  // Takes back a state() of an optimizer of the same kind over as many parameters, so that the next
  // step() is the one the saved optimizer would have taken. Throws std::invalid_argument otherwise.
  void load_state(const OptimizerState& state);

 protected:
  Optimizer(Graph& net, float lr, const LRSchedule& schedule);
  Optimizer(const Tensor& parameters, const Tensor& gradients, float lr, const LRSchedule& schedule);
  // Updates elements [begin, end) of the parameters at rate lr; step_count() is the number of
  // earlier steps.
  virtual void update(float* p, const float* g, std::int64_t begin, std::int64_t end, float lr) = 0;
  // Views of the state buffers, in the order state() lists them.
  virtual std::vector<Tensor> buffers() const { return {}; }

 private:
  Graph* net_ = nullptr;
  Tensor params_, grads_;
  float base_lr_;
  LRSchedule schedule_;
  std::int64_t steps_ = 0;
};

// Options with chainable setters; each getter has the setter's name.
class SGDOptions {
 public:
  explicit SGDOptions(float lr) : lr_(lr) {}
  float lr() const noexcept { return lr_; }
  float momentum() const noexcept { return momentum_; }
  bool nesterov() const noexcept { return nesterov_; }
  float weight_decay() const noexcept { return weight_decay_; }
  const LRSchedule& schedule() const noexcept { return schedule_; }
  SGDOptions& lr(float v) noexcept { return lr_ = v, *this; }
  SGDOptions& momentum(float v) noexcept { return momentum_ = v, *this; }
  SGDOptions& nesterov(bool v) noexcept { return nesterov_ = v, *this; }
  SGDOptions& weight_decay(float v) noexcept { return weight_decay_ = v, *this; }
  SGDOptions& schedule(const LRSchedule& v) noexcept { return schedule_ = v, *this; }

 private:
  float lr_;
  float momentum_ = 0.0f;
  bool nesterov_ = false;
  float weight_decay_ = 0.0f;
  LRSchedule schedule_ = LRSchedule::constant();
};

// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay added to the
// gradient: g' = g + wd·p; v = g' (first step) or μ·v + g'; p −= lr·(v, or g' + μ·v with Nesterov).
// Throws std::invalid_argument for lr <= 0, momentum outside [0, 1), negative weight decay, or
// Nesterov without momentum.
class SGD final : public Optimizer {
 public:
  SGD(Graph& net, const SGDOptions& options);
  // Over any parameter and gradient tensors of the same size: the optimizer updates their data in
  // place (it keeps views, so they must outlive it).
  SGD(const Tensor& parameters, const Tensor& gradients, const SGDOptions& options);
  std::string name() const override;
  std::string kind() const override { return "SGD"; }
  const SGDOptions& options() const noexcept { return options_; }
  // The momentum buffer (empty without momentum).
  const Tensor& velocity() const noexcept { return velocity_; }

 protected:
  void update(float* p, const float* g, std::int64_t begin, std::int64_t end, float lr) override;
  std::vector<Tensor> buffers() const override;

 private:
  void validate() const;

  SGDOptions options_;
  Tensor velocity_;
};

class AdamOptions {
 public:
  explicit AdamOptions(float lr = 1e-3f) : lr_(lr) {}
  float lr() const noexcept { return lr_; }
  float beta1() const noexcept { return beta1_; }
  float beta2() const noexcept { return beta2_; }
  float eps() const noexcept { return eps_; }
  float weight_decay() const noexcept { return weight_decay_; }
  const LRSchedule& schedule() const noexcept { return schedule_; }
  AdamOptions& lr(float v) noexcept { return lr_ = v, *this; }
  AdamOptions& betas(float b1, float b2) noexcept { return beta1_ = b1, beta2_ = b2, *this; }
  AdamOptions& eps(float v) noexcept { return eps_ = v, *this; }
  AdamOptions& weight_decay(float v) noexcept { return weight_decay_ = v, *this; }
  AdamOptions& schedule(const LRSchedule& v) noexcept { return schedule_ = v, *this; }

 private:
  float lr_;
  float beta1_ = 0.9f;
  float beta2_ = 0.999f;
  float eps_ = 1e-8f;
  float weight_decay_ = 0.0f;
  LRSchedule schedule_ = LRSchedule::constant();
};

// Adam with decoupled weight decay (AdamW, as torch.optim.AdamW): p ·= 1 − lr·wd; m = β1·m + (1 − β1)·g;
// v = β2·v + (1 − β2)·g²; p −= lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps).
// Throws std::invalid_argument for lr <= 0, betas outside [0, 1), eps <= 0 or negative weight decay.
class Adam final : public Optimizer {
 public:
  Adam(Graph& net, const AdamOptions& options);
  Adam(const Tensor& parameters, const Tensor& gradients, const AdamOptions& options);
  std::string name() const override;
  std::string kind() const override { return "Adam"; }
  const AdamOptions& options() const noexcept { return options_; }
  const Tensor& first_moment() const noexcept { return m_; }
  const Tensor& second_moment() const noexcept { return v_; }

 protected:
  void update(float* p, const float* g, std::int64_t begin, std::int64_t end, float lr) override;
  std::vector<Tensor> buffers() const override;

 private:
  void validate() const;

  AdamOptions options_;
  Tensor m_, v_;
};

}  // namespace tessera
