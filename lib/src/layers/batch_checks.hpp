// The shape checks at the top of every layer's forward and backward: cheap compares, with a message
// naming the layer, the tensor and both shapes when they fail.
#pragma once

#include <cstdint>

#include "tessera/layers/layer.hpp"

namespace tessera::detail {

// Checks x = [B, in...] and y = [B, out...] against the connected layer; returns B.
std::int64_t check_forward(const Layer& layer, const Tensor& x, const Tensor& y);
// As check_forward, and dy like y, dx (when not null) like x.
std::int64_t check_backward(const Layer& layer, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor* dx);

}  // namespace tessera::detail
