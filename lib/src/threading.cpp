// Thread-count control on top of oneTBB.
#include "tessera/threading.hpp"

#include <tbb/task_arena.h>
#include <algorithm>
#include <stdexcept>
#include <string>

namespace tessera {

namespace {
int checked(int max_threads) {
  if (max_threads < 1) {
    throw std::invalid_argument("tessera::ThreadLimit: max_threads must be >= 1, got " + std::to_string(max_threads));
  }
  return max_threads;
}
}  // namespace

ThreadLimit::ThreadLimit(int max_threads)
    : max_threads_(checked(max_threads)),
      control_(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(max_threads)) {}

namespace detail {
namespace {
// Set while this thread runs a task of a loop already split over threads (see for_each_task).
thread_local int tasks_entered = 0;
}  // namespace
InsideTask::InsideTask() noexcept { ++tasks_entered; }
InsideTask::~InsideTask() { --tasks_entered; }
}  // namespace detail

int max_threads() noexcept {
  if (detail::tasks_entered > 0) return 1;
  const auto limit = tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  const int arena = tbb::this_task_arena::max_concurrency();
  return std::max(1, static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(arena), limit)));
}

}  // namespace tessera
