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
  // Compresses x ([rows, cols], row-major) by rows when at most max_density of it is nonzero, and
  // returns whether it did. Buffers grow to the largest batch seen and are then reused.
  bool build(const float* x, std::int64_t rows, std::int64_t cols, double max_density);
  // The input the compressed form was built from (null when build() declined). It must stay unchanged
  // until transposed_times(), which reads it again.
  const float* source() const noexcept { return source_; }

  // y = act(x·W + bias): y [rows, n] (leading dimension ldy), W [cols, n] row-major, bias [n] or null.
  // Parallel over examples; each task applies the epilogue to its rows while they are in cache.
  void times(const float* w, std::int64_t n, const float* bias, Activation activation, float* y,
             std::int64_t ldy) const;
  // dW = xᵀ·dy + beta·dW: dW [cols, n] (leading dimension lddw), dy [rows, n] row-major. Parallel over
  // inputs; each dW row sums its examples in order.
  void transposed_times(const float* dy, std::int64_t n, float beta, float* dw, std::int64_t lddw);

 private:
  void build_columns();

  std::int64_t rows_ = 0, cols_ = 0;
  const float* source_ = nullptr;
  std::vector<std::int32_t> row_offsets_, row_index_;
  std::vector<float> row_value_;
  bool have_columns_ = false;
  std::vector<std::int32_t> col_offsets_, col_index_;
  std::vector<float> col_value_;
  std::vector<float> transposed_;  // the input transposed, for the columns
};

}  // namespace tessera::detail
