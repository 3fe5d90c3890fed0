// The rules that turn the CPU's cache sizes into each kernel's block sizes, with the data each kernel
// gives them: all of the GEMM's tuning figures in one place. The kernel files name their rules;
// nothing else in the driver is a cache-dependent constant.
#pragma once

#include "gemm/kernel_set.hpp"
#include "tessera/cpu.hpp"

namespace tessera::detail {

// Per kernel (register tile mr × nr, the BLIS names, in our row-major orientation):
//   kc    = the largest multiple of kc_step (at most 1024) for which the A sliver (mr × kc floats), with
//           the B sliver (kc × nr) when b_sliver_in_l1, takes at most l1_share of L1d;
//   nc_l2 = the largest multiple of nr for which a packed B block (kc × nc_l2) takes at most
//           l2_share of L2 (it stays there while every A sliver of the panel streams past it);
//   mc_l3, nc_l3 = packed A and B panels of at most a quarter of L3 each (L2 where there is no L3),
//           bounded to 3072 rows and 4096 columns so the buffers stay a few MiB;
//   direct_a_max_cols = direct_a_max_b_tiles · nr and direct_b_max_rows = direct_b_max_a_tiles · mr:
//           a sliver used for only that many tiles is read in place, since packing would cost more
//           than it saves (measured on the MNIST layer shapes, bench_gemm);
//   fuse_b_max_a_bytes = half of L2 (the A panel each column task streams from its own L2).
struct BlockRules {
  int mr, nr;
  double l1_share;
  bool b_sliver_in_l1;
  int kc_step;
  double l2_share;
  int direct_a_max_b_tiles, direct_b_max_a_tiles;
  // Cost of writing one C element of a swapped (Cᵀ) tile, in lane-FMAs (see BlockSizes).
  int swapped_store_cost;
};

// AVX-512, 12×32: the A sliver stays in L1 and the B sliver streams from L2 with software prefetch
// (93-95% of peak measured with it, on a Cascade Lake core: L1d 32 KiB, L2 1 MiB, where these rules
// give kc 384 (an 18 KiB A sliver) and nc_l2 448 (a 688 KiB B block)). Transposed stores in registers.
inline constexpr BlockRules kAvx512Rules{12, 32, 0.6, false, 64, 2.0 / 3.0, 4, 8, 12};
// AVX-512, 16×16 (the narrow tile): one B vector per k step, so both slivers stay in L1 as for AVX2.
inline constexpr BlockRules kAvx512NarrowRules{16, 16, 0.7, true, 32, 2.0 / 3.0, 8, 8, 12};
// AVX2, 6×16: A and B slivers both in L1 (on Haswell's 32 KiB L1d and 256 KiB L2: kc 256 with 6 + 16
// KiB of slivers, nc_l2 160 with a 160 KiB B block; on Zen 4's 1 MiB L2, kc 256 and nc_l2 672).
// Swapped tiles are transposed in registers and stored with masks; a swap cost of 12 or 6 measured no
// different from 48 on an AVX2 path (Emerald Rapids), nor did prefetch distances of 8 to 32 on Zen 4.
inline constexpr BlockRules kAvx2Rules{6, 16, 0.7, true, 32, 2.0 / 3.0, 8, 16, 48};
// Generic SSE2, 6×8: the AVX2 rules for the narrower tile.
inline constexpr BlockRules kGenericRules{6, 8, 0.7, true, 32, 2.0 / 3.0, 16, 16, 48};

// The block sizes these rules give for these caches.
BlockSizes derive_block_sizes(const BlockRules& rules, const CacheSizes& caches);

// For experiments: TESSERA_BLOCKS=kc=256,nc_l2=160,mc_l3=3072,nc_l3=4096,swap_cost=12 replaces the
// sizes it names (text may be null). Throws std::invalid_argument for an unknown name or a size the driver
// cannot use (nc_l2 and nc_l3 multiples of nr, mc_l3 a multiple of mr).
BlockSizes apply_block_override(BlockSizes sizes, const char* text);

// derive_block_sizes for the detected caches, then TESSERA_BLOCKS.
BlockSizes block_sizes_for(const BlockRules& rules);

}  // namespace tessera::detail
