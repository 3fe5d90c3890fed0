// The contract between the GEMM driver and the per-ISA kernel files: function types, block sizes as
// data, and one KernelSet per instruction set. The driver knows nothing else about an ISA.
#pragma once

#include <array>
#include <cstdint>

#include "tessera/gemm.hpp"

namespace tessera::detail {

inline constexpr int kMaxMr = 16;

// C_tile[m×n] = beta·C_tile + alpha·A_sliver·B_sliver, summed over kc steps in order k = 0, 1, ...
//   a: the A sliver (m rows × kc), laid out as the Operands mode says;
//   b: row k at b + k*b_step, NR floats: a packed sliver (b_step = NR) or a row-major source;
//   b_pack: for Operands::PackB, where the kernel writes the packed B sliver as it reads it;
//   c: element (i, j) at c[i*rs_c + j*cs_c]; m <= MR is fixed by which table entry is called, n <= NR
//      (B must still hold NR readable floats per row).
// beta == 0 writes C without reading it.
using MicroKernel = void (*)(std::int64_t kc, const float* a, std::int64_t a_step, const float* b, std::int64_t b_step,
                             float* b_pack, float* c, std::int64_t rs_c, std::int64_t cs_c, int n, float alpha,
                             float beta);

// Where the kernel reads its operands. Packing pays only when a sliver is reused often; otherwise the
// kernel reads the caller's matrices in place.
enum class Operands {
  Packed,   // both packed: A(i, k) at a[k*MR + i] (alpha applied, passed as 1), b_step = NR
  Stepped,  // A(i, k) at a[k*a_step + i] (packed, or a column-contiguous source); any b_step
  ARows,    // A(i, k) at a[i*a_step + k]: a row-major source read in place; any b_step
  PackB,    // A packed as in Packed; B read from a row-major source and written packed to b_pack
};
inline constexpr int kOperandModes = 4;

// Packs a block of `extent` × kc elements, element (x, p) at src[x*rs_x + p*cs_k], into slivers of W
// (MR for A, NR for B) along x: sliver s holds kc groups of W floats, zero-padded past `extent`.
// Every element is multiplied by alpha.
using PackFn = void (*)(const float* src, std::int64_t rs_x, std::int64_t cs_k, std::int64_t extent, std::int64_t kc,
                        float alpha, float* dst);

// Row-major block of C (rows × cols, leading dimension ldc): adds bias[j] per column (when not null)
// and applies the activation, element by element.
using EpilogueFn = void (*)(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const float* bias,
                            Activation activation);

// Products with one row or one column of output (batch-1 inference) read each weight once, so they
// run as streaming loops instead of packed tiles (packing alone cost more than the whole product).
// Both compute, for outputs j in [0, n): y[j·incy] = alpha·Σ_k x[k·incx]·B(k, j) + beta·y[j·incy],
// summing k in order 0, 1, … (beta == 0 writes y without reading it).
//   GemvRows: B(k, j) at b[k·ldb + j] (rows of B streamed, outputs along vector lanes);
//   GemvDots: B(k, j) at b[j·ldb + k] with incx == 1 (one dot product per output).
using GemvRows = void (*)(std::int64_t n, std::int64_t k, float alpha, const float* x, std::int64_t incx,
                          const float* b, std::int64_t ldb, float beta, float* y, std::int64_t incy);
using GemvDots = GemvRows;

// Block sizes (BLIS names, for our row-major orientation where NR runs along vector lanes):
//   mr × nr : register tile;  kc : depth of one packed panel;
//   nc_l2   : columns of a packed B block each thread streams from its own L2 (kc·nc_l2 floats);
//   mc_l3, nc_l3 : largest A panel rows and B panel columns packed at once (bound on buffer sizes).
// and the driver's thresholds:
//   direct_a_max_cols, direct_b_max_rows : C at most this wide (high) reads A (B) in place, unpacked;
//   fuse_b_max_a_bytes : the kernels pack B as they read it only while an A panel fits in this;
//   swapped_store_cost : cost of writing one C element of a swapped (Cᵀ) tile, in lane-FMAs (a
//     row-major store costs about 4), for the driver's choice of orientation.
// Derived from the detected caches by the rules of block_sizes.hpp.
struct BlockSizes {
  int mr, nr, kc, nc_l2, mc_l3, nc_l3;
  int direct_a_max_cols, direct_b_max_rows;
  std::int64_t fuse_b_max_a_bytes;
  int swapped_store_cost;
};

struct KernelSet {
  Isa isa;
  const char* name;  // e.g. "avx512_12x32"
  BlockSizes blocks;
  // kernels[mode][m-1] handles tiles of m rows with operands laid out as Operands(mode) says.
  std::array<std::array<MicroKernel, kMaxMr>, kOperandModes> kernels;
  PackFn pack_a;
  PackFn pack_b;
  EpilogueFn epilogue;
  GemvRows gemv_rows;
  GemvDots gemv_dots;
  // A second tile of the same ISA, one vector wide, for products whose C is too narrow for this
  // tile (a 16-channel convolution half-fills a 32-wide tile); null where there is none. The driver
  // picks between the two by shape alone (choose_kernels in driver.cpp).
  const KernelSet* narrow = nullptr;
};

const KernelSet& kernel_set_generic();
const KernelSet& kernel_set_avx2();
const KernelSet& kernel_set_avx512();
const KernelSet& kernel_set_avx512_narrow();

// The set gemm uses now (TESSERA_ISA or the best the CPU supports).
const KernelSet& active_kernel_set();

}  // namespace tessera::detail
