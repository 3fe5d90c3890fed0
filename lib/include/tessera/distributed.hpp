// Data-parallel training over MPI (link tessera::distributed; built when CMake finds MPI, option
// TESSERA_WITH_MPI). Each process of an MPI job trains on its shard of every global batch and the
// gradients are summed across processes before each optimizer step (TrainerOptions::processes):
//
//   tessera::distributed::Session mpi(&argc, &argv);          // MPI_Init .. MPI_Finalize
//   tessera::distributed::MpiProcessGroup world;
//   options.processes = &world;                                // then Trainer as usual
//
// The sum is deterministic for a given number of processes: a reduce-scatter in which each process
// adds its share of the buffer over the ranks in rank order, then an all-gather, so every process
// gets the same bits and a repeated run the same again.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "tessera/process_group.hpp"

namespace tessera::distributed {

// MPI for the life of the object: initialised (threads: only the main thread calls MPI) unless it
// already is, and finalised at the end if this object initialised it.
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Whether this process was started by an MPI launcher (mpirun, mpiexec, srun): checked before
  // initialising, so that a program can run on its own without MPI starting up.
  static bool launched_by_mpi();

 private:
  bool initialised_here_ = false;
};

// MPI_COMM_WORLD as a ProcessGroup. A process that waits longer than `timeout_seconds` in a
// collective step (another process died, or stalls) exits with a message naming itself and the step
// (status 3), and the launcher then ends the job, instead of it hanging. Needs a live Session.
class MpiProcessGroup final : public ProcessGroup {
 public:
  // Throws std::invalid_argument unless timeout_seconds > 0, std::logic_error without MPI initialised.
  explicit MpiProcessGroup(double timeout_seconds = 600.0);
  ~MpiProcessGroup() override;
  MpiProcessGroup(const MpiProcessGroup&) = delete;
  MpiProcessGroup& operator=(const MpiProcessGroup&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(float* values, std::int64_t n) override;
  void sum(double* values, std::int64_t n) override;

  // Ends every process of the job: prints "rank R: <message>" on stderr, then MPI_Abort(status).
  [[noreturn]] void abort(const std::string& message, int status) const;
  double seconds_in_sum() const noexcept override { return seconds_in_sum_; }

 private:
  template <class T>
  void sum_impl(T* values, std::int64_t n);
  class Watchdog;

  int rank_ = 0, size_ = 1;
  double timeout_;
  double seconds_in_sum_ = 0.0;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace tessera::distributed
