// The optimizer step loop (schedule, fixed chunks over threads) and the SGD and Adam updates, which
// hand each chunk to the vectorised kernels of the active ISA.
#include "tessera/optim.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "optim/update_kernels.hpp"
#include "parallel.hpp"
#include "tessera/network.hpp"

namespace tessera {

namespace {
void require(bool ok, const std::string& who, const std::string& what) {
  if (!ok) throw std::invalid_argument("tessera::" + who + ": " + what);
}

void require_rate(const std::string& who, float lr) {
  require(std::isfinite(lr) && lr > 0.0f, who, "learning rate must be > 0 and finite, got " + std::to_string(lr));
}

Tensor flat(const Tensor& t) { return t.reshaped(Shape{t.size()}); }
}  // namespace

Optimizer::Optimizer(Graph& net, float lr, const LRSchedule& schedule)
    : net_(&net), params_(flat(net.parameters())), grads_(flat(net.gradients())), base_lr_(lr), schedule_(schedule) {}

Optimizer::Optimizer(const Tensor& parameters, const Tensor& gradients, float lr, const LRSchedule& schedule)
    : params_(flat(parameters)), grads_(flat(gradients)), base_lr_(lr), schedule_(schedule) {
  require(params_.size() == gradients.size(), "Optimizer",
          "parameters (" + std::to_string(params_.size()) + " floats) and gradients (" +
              std::to_string(gradients.size()) + " floats) differ in size");
}

float Optimizer::learning_rate() const noexcept {
  return static_cast<float>(static_cast<double>(base_lr_) * schedule_.factor(steps_));
}

void Optimizer::set_base_learning_rate(float lr) {
  require_rate(name(), lr);
  base_lr_ = lr;
}

void Optimizer::zero_grad() {
  if (net_ != nullptr) {
    net_->zero_grad();
  } else {
    grads_.fill(0.0f);
  }
}

void Optimizer::step() {
  // A network's gradients() applies a pending zero_grad before they are read.
  const Tensor grads = net_ != nullptr ? net_->gradients() : grads_;
  const float lr = learning_rate();
  float* p = params_.data();
  const float* g = grads.data();
  detail::for_each_chunk(params_.size(), detail::kElementwiseChunk,
                         [&](std::int64_t begin, std::int64_t end) { update(p, g, begin, end, lr); });
  ++steps_;
}

OptimizerState Optimizer::state() const {
  OptimizerState s{kind(), steps_, base_lr_, {}};
  for (const Tensor& b : buffers()) s.buffers.emplace_back(b.data(), b.data() + b.size());
  return s;
}

void Optimizer::load_state(const OptimizerState& state) {
  const std::string who = kind();
  require(state.kind == who, who, "cannot take the state of a " + state.kind + " optimizer");
  require(state.steps >= 0, who, "a negative step count (" + std::to_string(state.steps) + ")");
  require_rate(who, state.base_learning_rate);
  std::vector<Tensor> mine = buffers();
  require(state.buffers.size() == mine.size(), who,
          "the state has " + std::to_string(state.buffers.size()) + " buffers, this optimizer " +
              std::to_string(mine.size()) + " (momentum on in one and off in the other?)");
  for (std::size_t i = 0; i < mine.size(); ++i) {
    require(static_cast<std::int64_t>(state.buffers[i].size()) == mine[i].size(), who,
            "state buffer " + std::to_string(i) + " holds " + std::to_string(state.buffers[i].size()) + " values for " +
                std::to_string(mine[i].size()) + " parameters");
  }
  for (std::size_t i = 0; i < mine.size(); ++i)
    std::copy(state.buffers[i].begin(), state.buffers[i].end(), mine[i].data());
  steps_ = state.steps;
  base_lr_ = state.base_learning_rate;
}

SGD::SGD(Graph& net, const SGDOptions& options) : Optimizer(net, options.lr(), options.schedule()), options_(options) {
  validate();
  if (options_.momentum() > 0.0f) velocity_ = Tensor(Shape{size()});
}

SGD::SGD(const Tensor& parameters, const Tensor& gradients, const SGDOptions& options)
    : Optimizer(parameters, gradients, options.lr(), options.schedule()), options_(options) {
  validate();
  if (options_.momentum() > 0.0f) velocity_ = Tensor(Shape{size()});
}

void SGD::validate() const {
  const SGDOptions& o = options_;
  require_rate("SGD", o.lr());
  require(o.momentum() >= 0.0f && o.momentum() < 1.0f, "SGD",
          "momentum must be in [0, 1), got " + std::to_string(o.momentum()));
  require(o.weight_decay() >= 0.0f && std::isfinite(o.weight_decay()), "SGD",
          "weight_decay must be >= 0, got " + std::to_string(o.weight_decay()));
  require(!o.nesterov() || o.momentum() > 0.0f, "SGD", "Nesterov momentum needs momentum > 0");
}

std::string SGD::name() const {
  std::ostringstream os;
  os << "SGD(lr=" << options_.lr();
  if (options_.momentum() > 0.0f)
    os << ", momentum=" << options_.momentum() << (options_.nesterov() ? ", nesterov" : "");
  if (options_.weight_decay() > 0.0f) os << ", weight_decay=" << options_.weight_decay();
  os << ", schedule=" << options_.schedule().to_string() << ")";
  return os.str();
}

void SGD::update(float* p, const float* g, std::int64_t begin, std::int64_t end, float lr) {
  const detail::SgdStep s{lr, options_.momentum(), options_.weight_decay(), options_.nesterov(), step_count() == 0};
  float* v = velocity_.empty() ? nullptr : velocity_.data() + begin;
  detail::active_update_kernels().sgd(p + begin, g + begin, v, end - begin, s);
}

std::vector<Tensor> SGD::buffers() const {
  if (velocity_.empty()) return {};
  return {velocity_.view()};
}

Adam::Adam(Graph& net, const AdamOptions& options)
    : Optimizer(net, options.lr(), options.schedule()), options_(options), m_(Shape{size()}), v_(Shape{size()}) {
  validate();
}

Adam::Adam(const Tensor& parameters, const Tensor& gradients, const AdamOptions& options)
    : Optimizer(parameters, gradients, options.lr(), options.schedule()),
      options_(options),
      m_(Shape{size()}),
      v_(Shape{size()}) {
  validate();
}

void Adam::validate() const {
  const AdamOptions& o = options_;
  require_rate("Adam", o.lr());
  require(o.beta1() >= 0.0f && o.beta1() < 1.0f && o.beta2() >= 0.0f && o.beta2() < 1.0f, "Adam",
          "betas must be in [0, 1), got (" + std::to_string(o.beta1()) + ", " + std::to_string(o.beta2()) + ")");
  require(o.eps() > 0.0f && std::isfinite(o.eps()), "Adam", "eps must be > 0, got " + std::to_string(o.eps()));
  require(o.weight_decay() >= 0.0f && std::isfinite(o.weight_decay()), "Adam",
          "weight_decay must be >= 0, got " + std::to_string(o.weight_decay()));
}

std::string Adam::name() const {
  std::ostringstream os;
  os << "Adam(lr=" << options_.lr() << ", betas=(" << options_.beta1() << ", " << options_.beta2()
     << "), eps=" << options_.eps();
  if (options_.weight_decay() > 0.0f) os << ", weight_decay=" << options_.weight_decay() << " (decoupled)";
  os << ", schedule=" << options_.schedule().to_string() << ")";
  return os.str();
}

void Adam::update(float* p, const float* g, std::int64_t begin, std::int64_t end, float lr) {
  // Bias corrections in double: β^t underflows gracefully and 1 − β^t keeps its digits.
  const double t = static_cast<double>(step_count() + 1);
  const double bc1 = 1.0 - std::pow(static_cast<double>(options_.beta1()), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(options_.beta2()), t);
  const detail::AdamStep s{static_cast<float>(static_cast<double>(lr) / bc1),
                           options_.beta1(),
                           options_.beta2(),
                           options_.eps(),
                           static_cast<float>(1.0 / std::sqrt(bc2)),
                           1.0f - lr * options_.weight_decay()};
  detail::active_update_kernels().adam(p + begin, g + begin, m_.data() + begin, v_.data() + begin, end - begin, s);
}

std::vector<Tensor> Adam::buffers() const { return {m_.view(), v_.view()}; }

}  // namespace tessera
