// What the app prints beyond the training lines: the per-layer profile, the confusion matrix, a digit
// drawn in text, and the metrics file's JSON lines.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "tessera/tessera.hpp"

namespace tessera_app {

// Per layer: forward and backward milliseconds per step, GFLOP/s, share of the step; then the rest
// of the step (loss, optimizer, data).
void print_profile(std::ostream& out, const std::vector<tessera::LayerProfile>& profile, double train_seconds,
                   std::int64_t steps);
// Rows: true class, columns: predicted; headed by the class names when given (else the indices).
void print_confusion(std::ostream& out, const tessera::Evaluation& e, const std::vector<std::string>& names = {});
void print_digit(std::ostream& out, std::span<const std::uint8_t> pixels, std::int64_t rows, std::int64_t cols);
// One JSON object: epoch, examples, train_loss and the task's figures (train_accuracy; train_rmse,
// train_mae), then test_* and validation_* likewise (null when not evaluated; validation only when
// there is a validation set), seconds, examples_per_second, threads.
std::string metrics_json(const tessera::EpochStats& s);

// A model's scores of `classes` classes from one example's `width` outputs: with `probabilities`,
// softmax of the logits (or, for a single logit z, 1 − sigmoid(z) and sigmoid(z)); otherwise the raw
// outputs.
std::vector<double> class_scores(const float* outputs, std::int64_t width, std::size_t classes, bool probabilities);

}  // namespace tessera_app
