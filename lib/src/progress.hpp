// The per-epoch progress bar: redrawn in place at most ten times a second, with batches done, running
// loss, throughput and time left.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>

namespace tessera::detail {

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, std::int64_t epoch, std::int64_t epochs, std::int64_t steps);
  // After step `done` (from 1) of the epoch, with the running mean loss and examples so far.
  void update(std::int64_t done, double loss, std::int64_t examples);
  // Erases the bar, leaving the line for the epoch's summary.
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  std::int64_t epoch_, epochs_, steps_;
  Clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace tessera::detail
