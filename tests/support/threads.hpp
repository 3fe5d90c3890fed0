// Runs test code on an exact number of threads: a task arena of that size under a ThreadLimit that
// lets oneTBB run more workers than the machine has cores, so the work split really changes.
#pragma once

#include <tbb/task_arena.h>

#include "tessera/threading.hpp"

namespace tessera::test {

template <class F>
void run_on_threads(int threads, F&& f) {
  ThreadLimit limit(threads);
  tbb::task_arena arena(threads);
  arena.execute(f);
}

}  // namespace tessera::test
