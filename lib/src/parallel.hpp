// The one way the layers and optimizers split elementwise or per-column work over threads: fixed
// chunks whose boundaries depend only on the problem size, so every element is computed by the same
// code whatever the number of threads, and no task is smaller than a chunk.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <cstdint>

#include "flush_denormals.hpp"
#include "tessera/threading.hpp"

namespace tessera::detail {

// Elementwise loops over more floats than this are split; a chunk of 16 Ki floats (64 KiB, in L2)
// takes a few microseconds, well above the cost of a task.
inline constexpr std::int64_t kElementwiseChunk = 16 * 1024;

// Calls fn(begin, end) for the chunks [0, chunk), [chunk, 2·chunk), ... of [0, n), in parallel when
// there is more than one chunk and more than one thread.
template <class F>
void for_each_chunk(std::int64_t n, std::int64_t chunk, const F& fn) {
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  if (chunks <= 1 || max_threads() == 1) {
    const FlushDenormals flush;
    for (std::int64_t c = 0; c < chunks; ++c) fn(c * chunk, std::min(n, (c + 1) * chunk));
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<std::int64_t>(0, chunks, 1),
      [&](const tbb::blocked_range<std::int64_t>& r) {
        const FlushDenormals flush;
        for (std::int64_t c = r.begin(); c < r.end(); ++c) fn(c * chunk, std::min(n, (c + 1) * chunk));
      },
      tbb::simple_partitioner());
}

// to[0..n) = from[0..n), split in the same chunks as the elementwise loops.
inline void parallel_copy(const float* from, std::int64_t n, float* to) {
  for_each_chunk(n, kElementwiseChunk,
                 [&](std::int64_t begin, std::int64_t end) { std::copy(from + begin, from + end, to + begin); });
}

// Calls fn(i) for i in [0, count): one task each, in parallel when there are several and more than one
// thread. Work inside a task (a gemm, say) runs on that task's thread: the split is already here, and
// nesting would add task overhead for nothing. A lone task keeps the caller's threads for its inside.
template <class F>
void for_each_task(std::int64_t count, const F& fn) {
  if (count <= 1 || max_threads() == 1) {
    const FlushDenormals flush;
    for (std::int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<std::int64_t>(0, count, 1),
      [&](const tbb::blocked_range<std::int64_t>& r) {
        const FlushDenormals flush;
        const InsideTask inside;
        for (std::int64_t i = r.begin(); i < r.end(); ++i) fn(i);
      },
      tbb::simple_partitioner());
}

}  // namespace tessera::detail
