// Compressed rows and columns of a batch, and the two products through the kernels' sparse loop.
#include "layers/sparse_input.hpp"

#include <algorithm>

#include "gemm/kernel_set.hpp"
#include "parallel.hpp"

namespace tessera::detail {

namespace {
// Rows (examples, or inputs for dW) per task: each holds a few hundred nonzeros of work at least.
constexpr std::int64_t kRowsPerTask = 16;
}  // namespace

bool SparseBatch::build(const float* x, std::int64_t rows, std::int64_t cols, double max_density) {
  source_ = nullptr;
  have_columns_ = false;
  const std::int64_t total = rows * cols;
  const auto limit = static_cast<std::int64_t>(max_density * static_cast<double>(total));
  // Sized once for the limit plus one row of overrun and the kernel's slack; resize within capacity
  // allocates nothing.
  row_offsets_.resize(static_cast<std::size_t>(rows + 1));
  const auto capacity = static_cast<std::size_t>(limit + cols + 16);
  if (row_index_.size() < capacity) {
    row_index_.resize(capacity);
    row_value_.resize(capacity);
  }
  const KernelSet& ks = active_kernel_set();
  std::int64_t nnz = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    row_offsets_[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(nnz);
    nnz += ks.compress(x + r * cols, cols, 0, row_index_.data() + nnz, row_value_.data() + nnz);
    if (nnz > limit) return false;
    // Dense data gives up after a few rows instead of after most of the batch.
    if (r == 7 && static_cast<double>(nnz) > 2.0 * max_density * static_cast<double>(8 * cols)) return false;
  }
  row_offsets_[static_cast<std::size_t>(rows)] = static_cast<std::int32_t>(nnz);
  rows_ = rows;
  cols_ = cols;
  source_ = x;
  return true;
}

void SparseBatch::times(const float* w, std::int64_t n, const float* bias, Activation activation, float* y,
                        std::int64_t ldy) const {
  const KernelSet& ks = active_kernel_set();
  for_each_chunk(rows_, kRowsPerTask, [&](std::int64_t begin, std::int64_t end) {
    ks.sparse_rows(end - begin, n, row_offsets_.data() + begin, row_index_.data(), row_value_.data(), w, n, 0.0f,
                   y + begin * ldy, ldy);
    ks.epilogue(y + begin * ldy, ldy, end - begin, n, bias, activation);
  });
}

void SparseBatch::build_columns() {
  // The input transposed (8×8 register transposes), then each of its rows compressed like the
  // forward's: the entries of a column come out in example order. A counting sort of the row entries
  // by column scattered writes over two 100-KiB arrays and cost as much as the product itself.
  const KernelSet& ks = active_kernel_set();
  const auto grow = [](auto& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
  };
  // Eight columns at a time, so the transposed panel (8 × rows floats) stays in L1 while it is
  // compressed.
  constexpr std::int64_t kPanel = 8;
  grow(transposed_, static_cast<std::size_t>(kPanel * rows_));
  grow(col_index_, row_index_.size());
  grow(col_value_, row_index_.size());
  col_offsets_.resize(static_cast<std::size_t>(cols_ + 1));
  std::int64_t nnz = 0;
  for (std::int64_t p0 = 0; p0 < cols_; p0 += kPanel) {
    const std::int64_t width = std::min(kPanel, cols_ - p0);
    ks.transpose(source_ + p0, rows_, width, cols_, transposed_.data(), rows_);
    for (std::int64_t q = 0; q < width; ++q) {
      col_offsets_[static_cast<std::size_t>(p0 + q)] = static_cast<std::int32_t>(nnz);
      nnz += ks.compress(transposed_.data() + q * rows_, rows_, 0, col_index_.data() + nnz, col_value_.data() + nnz);
    }
  }
  col_offsets_[static_cast<std::size_t>(cols_)] = static_cast<std::int32_t>(nnz);
  have_columns_ = true;
}

void SparseBatch::transposed_times(const float* dy, std::int64_t n, float beta, float* dw, std::int64_t lddw) {
  if (!have_columns_) build_columns();
  const KernelSet& ks = active_kernel_set();
  for_each_chunk(cols_, kRowsPerTask * 4, [&](std::int64_t begin, std::int64_t end) {
    ks.sparse_rows(end - begin, n, col_offsets_.data() + begin, col_index_.data(), col_value_.data(), dy, n, beta,
                   dw + begin * lddw, lddw);
  });
}

}  // namespace tessera::detail
