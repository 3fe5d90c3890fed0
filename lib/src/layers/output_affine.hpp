// A copy of a Dense or Conv2D layer's parameters (W [..., out] row-major, then b [out]) with a
// per-output-channel affine map folded in, for inference: W'[i, c] = W[i, c]·scale[c],
// b'[c] = b[c]·scale[c] + shift[c].
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::detail {

class FoldedParameters {
 public:
  // The parameters forward should read: the folded copy while one is set, else `own`.
  const float* weights(const float* own) const noexcept { return folded_.empty() ? own : folded_.data(); }

  // Folds scale and shift (`out` each) into a copy of `own` (`inputs`·out weights, then out biases);
  // empty spans drop the copy.
  void set(const std::string& layer, const float* own, std::int64_t inputs, std::int64_t out,
           std::span<const float> scale, std::span<const float> shift) {
    if (scale.empty() && shift.empty()) {
      folded_.clear();
      return;
    }
    if (static_cast<std::int64_t>(scale.size()) != out || static_cast<std::int64_t>(shift.size()) != out) {
      throw std::invalid_argument(layer + ": an output affine map needs " + std::to_string(out) +
                                  " scales and shifts, got " + std::to_string(scale.size()) + " and " +
                                  std::to_string(shift.size()));
    }
    folded_.resize(static_cast<std::size_t>((inputs + 1) * out));
    for (std::int64_t i = 0; i < inputs; ++i) {
      for (std::int64_t c = 0; c < out; ++c) {
        folded_[static_cast<std::size_t>(i * out + c)] = own[i * out + c] * scale[static_cast<std::size_t>(c)];
      }
    }
    for (std::int64_t c = 0; c < out; ++c) {
      const auto k = static_cast<std::size_t>(c);
      folded_[static_cast<std::size_t>(inputs * out + c)] = own[inputs * out + c] * scale[k] + shift[k];
    }
  }

 private:
  std::vector<float> folded_;
};

}  // namespace tessera::detail
