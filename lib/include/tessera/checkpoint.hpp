// Checkpoints: everything a training run needs to go on exactly where it stopped — the network
// (architecture, parameters, layers' random state), the optimizer's state, and the position in the
// run — in one file written atomically, so that a run killed at any moment resumes from its last
// checkpoint and ends bit-identical to a run never interrupted. Trainer writes and resumes them; these
// functions are for other loops.
//
//   offset 0   "TSRCKPNT"                      8-byte magic
//              u32 format version              (1)
//              u32 n, then n × (string key, string value)      metadata
//              u64 n, then n bytes                             a whole model file (serialize.hpp)
//              u32 n, then n × (u32 m, m × u64)                each layer's random state
//              string optimizer name, string kind, i64 steps, f32 base rate,
//              u32 n, then n × (u64 m, m × f32)                optimizer buffers
//              u64 seed, i64 batch size, i64 epochs, i64 examples per epoch,
//              i64 epoch, i64 step, f64 loss sum, i64 correct, i64 examples, f64 seconds
//              (version 2:) f64 absolute-error sum, f64 squared-error sum, i64 best epoch,
//              f64 best validation loss, u64 n, then n × f32 best parameters (n = 0: none)
//              u32 CRC-32 of every byte before it
// Files of version 1 still load (no regression sums, no best epoch).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tessera/network.hpp"
#include "tessera/optim.hpp"
#include "tessera/serialize.hpp"

namespace tessera {

inline constexpr std::uint32_t kCheckpointFormatVersion = 2;

// Where a run stands, and the settings that make the position meaningful.
struct TrainingProgress {
  std::uint64_t seed = 1;  // the shuffles' seed
  std::int64_t batch_size = 0;
  std::int64_t epochs = 0;              // of the whole run
  std::int64_t examples_per_epoch = 0;  // the training set's size
  std::int64_t epoch = 1;               // the epoch in progress, from 1 (epochs + 1: the run is over)
  std::int64_t step = 0;                // its steps already taken
  // The epoch's running figures up to `step`, so its statistics come out as if never interrupted.
  double loss_sum = 0.0;
  std::int64_t correct = 0;  // classification
  std::int64_t examples = 0;
  double seconds = 0.0;
  double abs_error_sum = 0.0, squared_error_sum = 0.0;  // regression, over every output
  // Early stopping: the epoch with the lowest validation loss so far (0: none yet), that loss, and
  // the parameters after it (kept only when the run restores them).
  std::int64_t best_epoch = 0;
  double best_loss = 0.0;
  std::vector<float> best_parameters;

  // At the start of `e`, nothing of it done yet.
  void start_epoch(std::int64_t e) noexcept {
    epoch = e;
    step = 0;
    loss_sum = seconds = abs_error_sum = squared_error_sum = 0.0;
    correct = examples = 0;
  }
};

// Writes a checkpoint of `net`, `optimizer` and `progress` to `file` atomically (a temporary file,
// flushed, then renamed: a save that fails or is killed leaves the previous checkpoint as it was).
// Throws ModelFileError naming the file.
void save_checkpoint(const std::filesystem::path& file, Graph& net, const Optimizer& optimizer,
                     const TrainingProgress& progress, const ModelMetadata& metadata = {});

struct Checkpoint {
  Graph network;  // with its parameters and layers' random state
  ModelMetadata metadata;
  std::string optimizer;  // the optimizer's name() when saved, settings included
  OptimizerState optimizer_state;
  TrainingProgress progress;
};

// Reads a checkpoint, checking magic, version, checksum, every count against the file's size, and
// that the pieces agree (buffers the size of the parameters, a position inside the run). Throws
// ModelFileError naming the file and the problem.
Checkpoint load_checkpoint(const std::filesystem::path& file);

}  // namespace tessera
