// Shape checks for layer calls.
#include "layers/batch_checks.hpp"

#include <stdexcept>
#include <string>

namespace tessera::detail {

namespace {
void require_connected(const Layer& layer) {
  if (!layer.connected()) {
    throw std::logic_error(layer.name() + " is not connected: add it to a Sequential (or connect() it) first");
  }
}

void require_shape(const Layer& layer, const Tensor& t, const Shape& per_example, std::int64_t batch,
                   const char* what) {
  if (t.rank() == 0 || !(t.shape().without_batch() == per_example) || t.rows() != batch) {
    const Shape expected = per_example.with_batch(batch);
    throw std::invalid_argument(layer.name() + ": " + what + " must have shape " + expected.to_string() + ", got " +
                                t.shape().to_string());
  }
}

std::int64_t batch_of(const Layer& layer, const Tensor& x) {
  require_connected(layer);
  if (x.rank() == 0 || !(x.shape().without_batch() == layer.in_shape())) {
    throw std::invalid_argument(layer.name() + ": input must have shape " +
                                layer.in_shape().with_batch(x.rank() == 0 ? 0 : x.rows()).to_string() +
                                " (batch first), got " + x.shape().to_string());
  }
  return x.rows();
}
}  // namespace

std::int64_t check_forward(const Layer& layer, const Tensor& x, const Tensor& y) {
  const std::int64_t batch = batch_of(layer, x);
  require_shape(layer, y, layer.out_shape(), batch, "output");
  return batch;
}

std::int64_t check_backward(const Layer& layer, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor* dx) {
  const std::int64_t batch = check_forward(layer, x, y);
  require_shape(layer, dy, layer.out_shape(), batch, "output gradient");
  if (dx != nullptr) require_shape(layer, *dx, layer.in_shape(), batch, "input gradient");
  return batch;
}

}  // namespace tessera::detail
