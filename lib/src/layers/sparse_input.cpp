// Compressed rows and columns of a batch, and the two products through the kernels' sparse loop.
// Each task compresses its own block of rows (or columns) into a region of its own and multiplies it
// at once, while it is in cache: the compression is split over threads with the products, and a
// block's entries come out in the same order whichever thread builds them.
#include "layers/sparse_input.hpp"

#include <algorithm>

#include "gemm/kernel_set.hpp"
#include "parallel.hpp"
#include "simd/array_kernels.hpp"
#include "vector_clones.hpp"

namespace tessera::detail {

namespace {
// Rows (examples) per forward task, and inputs per weight-gradient task: each holds a few hundred
// nonzeros of work at least.
constexpr std::int64_t kRowsPerTask = 16;
constexpr std::int64_t kColumnsPerTask = 64;
// The weight-gradient tasks transpose eight columns at a time, so that the transposed panel
// (8 × rows floats) stays in L1 while it is compressed.
constexpr std::int64_t kPanel = 8;
// What compress may write past its last entry.
constexpr std::int64_t kSlack = 16;

template <class V>
void grow(V& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
}

// The nonzeros of x[0..n): an integer count, the same at any vector width.
TESSERA_VECTOR_CLONES std::int64_t count_nonzeros(const float* x, std::int64_t n) {
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) count += x[i] != 0.0f;
  return count;
}
}  // namespace

bool SparseBatch::build(const float* x, std::int64_t rows, std::int64_t cols, double max_density) {
  source_ = nullptr;
  // Dense data gives up after a few rows instead of after the whole batch.
  const auto nonzeros = [&](std::int64_t first, std::int64_t last) {
    return static_cast<double>(count_nonzeros(x + first * cols, (last - first) * cols));
  };
  const std::int64_t head = std::min<std::int64_t>(rows, 8);
  const double head_nonzeros = nonzeros(0, head);
  if (head_nonzeros > 2.0 * max_density * static_cast<double>(head * cols)) return false;
  if (head_nonzeros + nonzeros(head, rows) > max_density * static_cast<double>(rows * cols)) return false;
  // Regions sized for a block of nothing but nonzeros, grown to the largest batch seen and then reused:
  // a training step allocates nothing.
  const std::int64_t row_blocks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  grow(row_offsets_, rows + row_blocks);
  grow(row_index_, rows * cols + row_blocks * kSlack);
  grow(row_value_, rows * cols + row_blocks * kSlack);
  const std::int64_t col_blocks = (cols + kColumnsPerTask - 1) / kColumnsPerTask;
  grow(col_offsets_, cols + col_blocks);
  grow(col_index_, rows * cols + col_blocks * kSlack);
  grow(col_value_, rows * cols + col_blocks * kSlack);
  grow(transposed_, col_blocks * kPanel * rows);  // a panel per block: blocks may run at once
  rows_ = rows;
  cols_ = cols;
  source_ = x;
  return true;
}

void SparseBatch::times(const float* w, std::int64_t n, const float* bias, Activation activation, float* y,
                        std::int64_t ldy) {
  const KernelSet& ks = active_kernel_set();
  const ArrayKernels& ak = active_array_kernels();
  for_each_chunk(rows_, kRowsPerTask, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t block = begin / kRowsPerTask;
    std::int32_t* offsets = row_offsets_.data() + begin + block;  // end − begin + 1 of them
    std::int32_t* index = row_index_.data() + begin * cols_ + block * kSlack;
    float* value = row_value_.data() + begin * cols_ + block * kSlack;
    std::int64_t nnz = 0;
    for (std::int64_t r = begin; r < end; ++r) {
      offsets[r - begin] = static_cast<std::int32_t>(nnz);
      nnz += ak.compress(source_ + r * cols_, cols_, 0, index + nnz, value + nnz);
    }
    offsets[end - begin] = static_cast<std::int32_t>(nnz);
    ak.sparse_rows(end - begin, n, offsets, index, value, w, n, 0.0f, y + begin * ldy, ldy);
    ks.epilogue(y + begin * ldy, ldy, end - begin, n, bias, activation);
  });
}

void SparseBatch::transposed_times(const float* dy, std::int64_t n, float beta, float* dw, std::int64_t lddw) {
  // Each input's column of the batch: transposed eight at a time (8×8 register transposes), then
  // compressed like a row, so a column's entries come out in example order.
  const ArrayKernels& ak = active_array_kernels();
  for_each_chunk(cols_, kColumnsPerTask, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t block = begin / kColumnsPerTask;
    std::int32_t* offsets = col_offsets_.data() + begin + block;
    std::int32_t* index = col_index_.data() + begin * rows_ + block * kSlack;
    float* value = col_value_.data() + begin * rows_ + block * kSlack;
    float* panel = transposed_.data() + block * kPanel * rows_;
    std::int64_t nnz = 0;
    for (std::int64_t p0 = begin; p0 < end; p0 += kPanel) {
      const std::int64_t width = std::min(kPanel, end - p0);
      ak.transpose(source_ + p0, rows_, width, cols_, panel, rows_);
      for (std::int64_t q = 0; q < width; ++q) {
        offsets[p0 + q - begin] = static_cast<std::int32_t>(nnz);
        nnz += ak.compress(panel + q * rows_, rows_, 0, index + nnz, value + nnz);
      }
    }
    offsets[end - begin] = static_cast<std::int32_t>(nnz);
    ak.sparse_rows(end - begin, n, offsets, index, value, dy, n, beta, dw + begin * lddw, lddw);
  });
}

}  // namespace tessera::detail
