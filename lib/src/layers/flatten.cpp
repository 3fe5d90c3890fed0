// Flatten: the layout does not change, so both directions are a copy.
#include "tessera/layers/flatten.hpp"

#include <algorithm>

#include "layers/batch_checks.hpp"
#include "parallel.hpp"

namespace tessera {

namespace {
void copy(const Tensor& from, Tensor& to) {
  detail::for_each_chunk(from.size(), detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
    std::copy(from.data() + begin, from.data() + end, to.data() + begin);
  });
}
}  // namespace

void Flatten::forward(const Tensor& x, Tensor& y) {
  detail::check_forward(*this, x, y);
  copy(x, y);
}

void Flatten::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  detail::check_backward(*this, x, y, dy, dx);
  if (dx != nullptr) copy(dy, *dx);
}

}  // namespace tessera
