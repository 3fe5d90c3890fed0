// The shape bookkeeping shared by all layers.
#include "tessera/layers/layer.hpp"

#include <stdexcept>

#include "timing.hpp"

namespace tessera {

void Layer::connect(const Shape& in) {
  if (const auto required = required_in_shape(); required && !(*required == in)) {
    throw std::invalid_argument(name() + " takes inputs of shape " + required->to_string() + ", got " + in.to_string());
  }
  out_shape_ = infer_out_shape(in);
  in_shape_ = in;
  connected_ = true;
}

void Layer::set_shapes(const Shape& in, const Shape& out) {
  in_shape_ = in;
  out_shape_ = out;
  connected_ = true;
}

void Layer::set_random_state(const std::vector<std::uint64_t>& state) {
  if (!state.empty()) {
    throw std::invalid_argument(name() + " has no random state, but was given " + std::to_string(state.size()) +
                                " values");
  }
}

double Layer::now_seconds() noexcept { return detail::now_seconds(); }

}  // namespace tessera
