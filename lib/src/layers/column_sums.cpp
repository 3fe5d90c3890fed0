// Column sums in a fixed order, parallel over column blocks.
#include "layers/column_sums.hpp"

#include <algorithm>

#include "parallel.hpp"
#include "vector_clones.hpp"

namespace tessera::detail {

namespace {
// A block of columns whose running sums stay in registers and L1 while the rows stream by.
constexpr std::int64_t kColumnBlock = 256;

TESSERA_VECTOR_CLONES void sum_block(const float* m, std::int64_t rows, std::int64_t ld, std::int64_t first,
                                     std::int64_t count, float* out, bool accumulate) {
  float acc[kColumnBlock] = {};
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = m + i * ld + first;
    for (std::int64_t j = 0; j < count; ++j) acc[j] += row[j];
  }
  for (std::int64_t j = 0; j < count; ++j) out[first + j] = accumulate ? out[first + j] + acc[j] : acc[j];
}
}  // namespace

void column_sums(const float* m, std::int64_t rows, std::int64_t cols, std::int64_t ld, float* out, bool accumulate) {
  // Split only when each block of columns reads a chunk's worth of floats.
  const std::int64_t min_cols = std::max<std::int64_t>(1, kElementwiseChunk / std::max<std::int64_t>(1, rows));
  const std::int64_t block = std::max(kColumnBlock, (min_cols + kColumnBlock - 1) / kColumnBlock * kColumnBlock);
  for_each_chunk(cols, block, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t j = begin; j < end; j += kColumnBlock) {
      sum_block(m, rows, ld, j, std::min(kColumnBlock, end - j), out, accumulate);
    }
  });
}

}  // namespace tessera::detail
