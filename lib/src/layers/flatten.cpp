// Flatten: the layout does not change, so both directions are a copy.
#include "tessera/layers/flatten.hpp"

#include "layers/batch_checks.hpp"
#include "parallel.hpp"

namespace tessera {

void Flatten::forward(const Tensor& x, Tensor& y) {
  detail::check_forward(*this, x, y);
  detail::parallel_copy(x.data(), x.size(), y.data());
}

void Flatten::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  detail::check_backward(*this, x, y, dy, dx);
  if (dx != nullptr) detail::parallel_copy(dy.data(), dy.size(), dx->data());
}

}  // namespace tessera
