// How many threads Tessera may use: a scoped cap over everything the library runs in parallel.
#pragma once

#include <tbb/global_control.h>

namespace tessera {

// Caps the number of threads Tessera (and anything else on oneTBB in this process) uses while it lives.
//   tessera::ThreadLimit limit(1);   // everything below runs single-threaded
// Limits nest: the smallest active one wins. Throws std::invalid_argument for max_threads < 1.
class ThreadLimit {
 public:
  explicit ThreadLimit(int max_threads);
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;
  int max_threads() const noexcept { return max_threads_; }

 private:
  int max_threads_;
  tbb::global_control control_;
};

// The number of threads a parallel region started here may use: the smaller of the current task
// arena's concurrency and the active ThreadLimit, and 1 inside a task of a loop Tessera has already
// split over threads (its inner products then run on the task's own thread).
int max_threads() noexcept;

namespace detail {
// Marks the calling thread as running one task of a split loop while it lives.
class InsideTask {
 public:
  InsideTask() noexcept;
  ~InsideTask();
  InsideTask(const InsideTask&) = delete;
  InsideTask& operator=(const InsideTask&) = delete;
};
}  // namespace detail

}  // namespace tessera
