// Dropout. Masks are drawn in fixed chunks, chunk c of the n-th training forward from its own Rng
// stream, so the mask does not depend on which thread draws which chunk.
#include "tessera/layers/dropout.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

#include "layers/batch_checks.hpp"
#include "layers/float_arg.hpp"
#include "parallel.hpp"

namespace tessera {

Dropout::Dropout(float p) : p_(p) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument("tessera::Dropout: p must be in [0, 1), got " + std::to_string(p));
  }
}

std::string Dropout::name() const { return "Dropout(" + std::to_string(p_) + ")"; }

LayerSpec Dropout::spec() const { return {"Dropout", {detail::float_arg(p_)}}; }

void Dropout::initialize(Init /*init*/, Rng& rng) {
  seed_ = rng.next_u64();
  draws_ = 0;
}

void Dropout::set_random_state(const std::vector<std::uint64_t>& state) {
  if (state.size() != 2) {
    throw std::invalid_argument(name() + ": a random state is {seed, draws}, got " + std::to_string(state.size()) +
                                " values");
  }
  seed_ = state[0];
  draws_ = state[1];
}

void Dropout::set_random_stream(std::uint64_t stream) { stream_ = stream; }

void Dropout::forward(const Tensor& x, Tensor& y) {
  detail::check_forward(*this, x, y);
  masked_ = training_ && p_ > 0.0f;
  const std::int64_t n = x.size();
  if (!masked_) {
    detail::parallel_copy(x.data(), n, y.data());
    return;
  }
  if (static_cast<std::int64_t>(mask_.size()) < n) mask_.resize(static_cast<std::size_t>(n));
  // An input is kept when a uniform 32-bit draw is at least p·2^32.
  const auto threshold = static_cast<std::uint64_t>(std::ldexp(static_cast<double>(p_), 32));
  const float scale = 1.0f / (1.0f - p_);
  const std::uint64_t draw = draws_++;
  // Another process of a data-parallel run draws from a seed of its own (stream 0 keeps the seed).
  const std::uint64_t seed = seed_ ^ (0x9E3779B97F4A7C15ULL * stream_);
  detail::for_each_chunk(n, detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
    Rng rng(seed, (draw << 32) | static_cast<std::uint64_t>(begin / detail::kElementwiseChunk));
    for (std::int64_t i = begin; i < end; i += 2) {
      const std::uint64_t bits = rng.next_u64();
      mask_[static_cast<std::size_t>(i)] = (bits & 0xffffffffU) >= threshold ? scale : 0.0f;
      if (i + 1 < end) mask_[static_cast<std::size_t>(i + 1)] = (bits >> 32) >= threshold ? scale : 0.0f;
    }
    for (std::int64_t i = begin; i < end; ++i) y.data()[i] = x.data()[i] * mask_[static_cast<std::size_t>(i)];
  });
}

void Dropout::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*accumulate*/) {
  detail::check_backward(*this, x, y, dy, dx);
  if (dx == nullptr) return;
  if (!masked_) {
    detail::parallel_copy(dy.data(), dy.size(), dx->data());
    return;
  }
  detail::for_each_chunk(dy.size(), detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dx->data()[i] = dy.data()[i] * mask_[static_cast<std::size_t>(i)];
  });
}

}  // namespace tessera
