// The processes of a data-parallel run, as the Trainer sees them: each trains on its shard of every
// global batch and the gradients are summed across them before the optimizer step. The core library
// knows only this interface; tessera::distributed (tessera/distributed.hpp, built with MPI) implements
// it, and a test can implement it in one process.
#pragma once

#include <cstdint>

namespace tessera {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  // This process's index in [0, size()) and the number of processes.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Replaces values[0, n) on every process with their sum over all processes. The order of the
  // additions must depend only on the ranks, never on timing, so that every process gets the same
  // bits and a repeated run the same again.
  virtual void sum(float* values, std::int64_t n) = 0;
  virtual void sum(double* values, std::int64_t n) = 0;
  // Seconds spent in sum() so far, waiting for the others included (0 if not measured).
  virtual double seconds_in_sum() const noexcept { return 0.0; }
};

}  // namespace tessera
