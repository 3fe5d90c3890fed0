// A batch of mostly-zero inputs (images: MNIST's pixels are 81% zeros) in compressed form, so that a
// first Dense layer multiplies only the nonzeros: y = x·W and dW = xᵀ·dy cost in proportion to them.
// Skipping exact zeros changes no sum (finite weights: 0·w adds nothing), and every output is summed
// in a fixed order by one task, whatever the number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/gemm.hpp"

namespace tessera::detail {

class SparseBatch {
 public:
  // Takes x ([rows, cols], row-major) for the products below when at most max_density of it is
  // nonzero, and returns whether it did. x must stay alive and unchanged until the products have run.
  // Buffers grow to the largest batch seen and are then reused.
  bool build(const float* x, std::int64_t rows, std::int64_t cols, double max_density);
  // The input taken (null when build() declined).
  const float* source() const noexcept { return source_; }

  // y = act(x·W + bias): y [rows, n] (leading dimension ldy), W [cols, n] row-major, bias [n] or null.
  // Parallel over blocks of examples; each task compresses its rows, multiplies them and applies the
  // epilogue while they are in cache.
  void times(const float* w, std::int64_t n, const float* bias, Activation activation, float* y, std::int64_t ldy);
  // dW = xᵀ·dy + beta·dW: dW [cols, n] (leading dimension lddw), dy [rows, n] row-major. Parallel over
  // blocks of inputs; each task compresses its columns of x, and each dW row sums its examples in order.
  void transposed_times(const float* dy, std::int64_t n, float beta, float* dw, std::int64_t lddw);

 private:
  std::int64_t rows_ = 0, cols_ = 0;
  const float* source_ = nullptr;
  // Per block of rows (of columns): its offsets (one more than its rows), and a region of entries
  // large enough for a block of nothing but nonzeros.
  std::vector<std::int32_t> row_offsets_, row_index_;
  std::vector<float> row_value_;
  std::vector<std::int32_t> col_offsets_, col_index_;
  std::vector<float> col_value_;
  std::vector<float> transposed_;  // per block of columns: eight of them transposed
};

}  // namespace tessera::detail
