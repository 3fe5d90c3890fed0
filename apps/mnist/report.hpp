// What the app prints beyond the training lines: the per-layer profile, the confusion matrix, a digit
// drawn in text, and the metrics file's JSON lines.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "tessera/tessera.hpp"

namespace mnist_app {

// Per layer: forward and backward milliseconds per step, GFLOP/s, share of the step; then the rest
// of the step (loss, optimizer, data).
void print_profile(std::ostream& out, const std::vector<tessera::LayerProfile>& profile, double train_seconds,
                   std::int64_t steps);
void print_confusion(std::ostream& out, const tessera::Evaluation& e);
void print_digit(std::ostream& out, std::span<const std::uint8_t> pixels, std::int64_t rows, std::int64_t cols);
std::string metrics_json(const tessera::EpochStats& s);

}  // namespace mnist_app
