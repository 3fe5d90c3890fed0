// The GEMM driver (BLIS's "macro-kernel" loops): for each A panel (mc_l3 rows) and B panel (nc_l3
// columns), for each depth panel of kc: pack A and B, then let threads sweep disjoint tiles of C.
// The depth loop is never split across threads, so every C element is summed in the same order
// whatever the thread count, and the result is bit-identical for 1 or 64 threads.
#include "gemm/driver.hpp"
#include "gemm/pack_buffers.hpp"

#include <algorithm>
#include <bit>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "flush_denormals.hpp"
#include "tessera/threading.hpp"

namespace tessera::detail {
namespace {

// Below this many flops a product runs on the calling thread alone: spawning tasks would cost more
// than it saves (an MNIST output layer at batch 32 is ~20 kFLOP).
constexpr double kSerialBelowFlops = 1.5e6;
// Each parallel task computes at least this much of one depth panel (~5 µs on one AVX-512 core), so
// task overhead stays a few percent.
constexpr double kMinTaskFlops = 0.5e6;
// Each packing task copies at least this many floats.
constexpr std::int64_t kMinPackFloatsPerTask = 32 * 1024;

// A small product takes about a microsecond, and a 64-bit division up to ~90 cycles: the planning
// below divides in 32 bits where the values allow, and by NR (a power of two) with a shift.
std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  if (((a + b) >> 31) == 0) return static_cast<std::uint32_t>(a + b - 1) / static_cast<std::uint32_t>(b);
  return (a + b - 1) / b;
}
std::int64_t nr_tiles(std::int64_t n, int nr) { return (n + nr - 1) >> std::countr_zero(static_cast<unsigned>(nr)); }

// Row-major register tiles waste lanes when n is narrow (an output layer of 10): computing
// Cᵀ = Bᵀ·Aᵀ instead puts the long side along the vector lanes, but then C's rows are the kernel's
// columns and cost more to write. A narrower tile of the same ISA (ks.narrow) wastes fewer lanes
// still. A cost model in lane-FMAs decides among the tiles and orientations: the compute counts
// padded lanes only (rows cost nothing to pad: each row count has its own kernel), and each pass over
// C (one per depth panel) costs about 4 lane-FMAs per element row-major, swapped_store_cost swapped.
// Ties keep the wide tile, unswapped. Shape-only: never depends on the thread count.
std::int64_t lane_fma_cost(const KernelSet& ks, std::int64_t m, std::int64_t n, std::int64_t k, bool swapped) {
  const BlockSizes& bs = ks.blocks;
  const std::int64_t c_passes = m * n * (k <= bs.kc ? 1 : ceil_div(k, bs.kc));
  if (swapped) return n * nr_tiles(m, bs.nr) * bs.nr * k + bs.swapped_store_cost * c_passes;
  return m * nr_tiles(n, bs.nr) * bs.nr * k + 4 * c_passes;
}

}  // namespace

KernelChoice choose_kernels(const KernelSet& ks, std::int64_t m, std::int64_t n, std::int64_t k) {
  KernelChoice best{&ks, false};
  std::int64_t best_cost = lane_fma_cost(ks, m, n, k, false);
  for (const KernelSet* set : {&ks, ks.narrow}) {
    if (set == nullptr) continue;
    for (bool swapped : {false, true}) {
      const std::int64_t cost = lane_fma_cost(*set, m, n, k, swapped);
      if (cost < best_cost) {
        best = {set, swapped};
        best_cost = cost;
      }
    }
  }
  return best;
}

namespace {

// Splits `count` items into `parts` contiguous ranges whose sizes differ by at most one.
struct EvenSplit {
  EvenSplit(std::int64_t count, std::int64_t n_parts)
      : parts(n_parts), size(n_parts == 1 ? count : count / n_parts), rest(n_parts == 1 ? 0 : count % n_parts) {}
  std::int64_t begin(std::int64_t i) const { return i * size + std::min(i, rest); }
  std::int64_t parts, size, rest;
};

// One problem in the orientation the kernels see: C(i, j) at c[i*rs_c + j*cs_c].
struct Problem {
  const KernelSet& ks;
  std::int64_t m, n, k;
  float alpha;
  MatrixView a, b;
  float beta;
  float* c;
  std::int64_t rs_c, cs_c;
  bool swapped;
  std::int64_t ldc;
  Epilogue epilogue;
  bool has_epilogue;
};

// The tiles of one (A panel × B panel) chunk and how they are grouped into tasks.
struct TileGrid {
  EvenSplit row_groups, col_blocks;
  std::int64_t tasks() const { return row_groups.parts * col_blocks.parts; }
};

// whole_columns: every task takes all tile rows of its columns (B packed by the kernels on first use
// must have one owner), so parallelism comes from more, narrower column blocks.
TileGrid plan_tiles(const BlockSizes& bs, std::int64_t mm, std::int64_t nn, std::int64_t kc, int threads, bool parallel,
                    bool whole_columns) {
  const std::int64_t row_tiles = ceil_div(mm, bs.mr);
  const std::int64_t col_tiles = nr_tiles(nn, bs.nr);
  std::int64_t col_blocks = nn <= bs.nc_l2 ? 1 : ceil_div(col_tiles, std::max(1, bs.nc_l2 / bs.nr));
  std::int64_t row_groups = 1;
  if (parallel) {
    const double panel_flops = 2.0 * static_cast<double>(mm) * static_cast<double>(nn) * static_cast<double>(kc);
    const auto by_work = static_cast<std::int64_t>(panel_flops / kMinTaskFlops);
    const std::int64_t wanted = std::max<std::int64_t>(1, std::min<std::int64_t>(4LL * threads, by_work));
    if (whole_columns) {
      col_blocks = std::clamp<std::int64_t>(wanted, col_blocks, col_tiles);
    } else {
      row_groups = std::clamp<std::int64_t>(ceil_div(wanted, col_blocks), 1, row_tiles);
    }
  }
  return TileGrid{EvenSplit{row_tiles, row_groups}, EvenSplit{col_tiles, col_blocks}};
}

// Runs job(0) .. job(count - 1): one TBB task each when parallel, else in order on this thread.
template <class Job>
void run_jobs(bool parallel, std::int64_t count, const Job& job) {
  if (parallel && count > 1) {
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(0, count, 1),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          const FlushDenormals flush;
          for (std::int64_t i = r.begin(); i != r.end(); ++i) job(i);
        },
        tbb::simple_partitioner());
  } else {
    const FlushDenormals flush;
    for (std::int64_t i = 0; i < count; ++i) job(i);
  }
}

void apply_epilogue(const Problem& pr, std::int64_t i, std::int64_t mi, std::int64_t j, std::int64_t nj) {
  const Epilogue& ep = pr.epilogue;
  if (!pr.swapped) {
    pr.ks.epilogue(pr.c + i * pr.ldc + j, pr.ldc, mi, nj, ep.bias ? ep.bias + j : nullptr, ep.activation);
  } else {
    pr.ks.epilogue(pr.c + j * pr.ldc + i, pr.ldc, nj, mi, ep.bias ? ep.bias + i : nullptr, ep.activation);
  }
}

// Where the kernels of one chunk find A and B.
struct OperandPlan {
  bool direct_a_cols;  // A read in place, column-contiguous: A(i, k) at a[i + k*cs]
  bool direct_a_rows;  // A read in place, row-contiguous: A(i, k) at a[i*rs + k]
  bool direct_b;       // full B slivers read in place
  bool fuse_b;         // full B slivers packed by the kernels of the first tile row (Operands::PackB)
  // Slivers below this are read in place or packed by the kernels; a partial last sliver is always
  // packed beforehand, since the kernel reads NR floats per row.
  std::int64_t b_first_packed;
  bool direct_a() const { return direct_a_cols || direct_a_rows; }
};

OperandPlan plan_operands(const Problem& pr, std::int64_t mm, std::int64_t nn, std::int64_t kc_max, int threads,
                          bool parallel) {
  const BlockSizes& bs = pr.ks.blocks;
  OperandPlan op{};
  // Packing pays for itself only when the packed sliver is reused often. A column-contiguous A
  // (A(i, k) at a[i + k*lda]) can feed the kernel's broadcasts directly, and a row-major B its vector
  // loads: do so when the other side of C is small, since each sliver is then read only a few times.
  // The thresholds depend on the kernel and the caches only, never on threads.
  op.direct_a_cols = pr.a.rs == 1 && nn <= bs.direct_a_max_cols;
  op.direct_a_rows = !op.direct_a_cols && pr.a.cs == 1 && nn <= bs.direct_a_max_cols;
  // In place, B's rows must not alias in the caches: rows a multiple of 2 KiB apart (ldb = 512,
  // 1024, ...) land in two L1 sets and evict each other, so such B is packed whatever its size.
  op.direct_b = pr.b.cs == 1 && mm <= bs.direct_b_max_rows && (pr.b.rs * 4) % 2048 != 0;
  // Otherwise the kernels of the first tile row pack a row-major B as they read it: no separate pass.
  // Each task must then own whole columns, so in parallel this needs enough column tiles for every
  // task (4 per thread) to get two, and an A panel small enough (half an L2) for each to stream.
  const bool columns_for_all = nr_tiles(nn, bs.nr) >= 8LL * threads && mm * kc_max * 4 <= bs.fuse_b_max_a_bytes;
  op.fuse_b = !op.direct_b && !op.direct_a() && pr.b.cs == 1 && mm > bs.mr && (!parallel || columns_for_all);
  op.b_first_packed = op.direct_b || op.fuse_b ? nn >> std::countr_zero(static_cast<unsigned>(bs.nr)) : 0;
  return op;
}

void run_chunk(const Problem& pr, PackBuffers& buffers, std::int64_t ic, std::int64_t mm, std::int64_t jc,
               std::int64_t nn, int threads, bool parallel) {
  const KernelSet& ks = pr.ks;
  const BlockSizes& bs = ks.blocks;
  // Depth panels of equal size (784 = 2×392, not 384 + 384 + 16): fewer C passes, no tiny panel.
  const std::int64_t panels = pr.k <= bs.kc ? 1 : ceil_div(pr.k, bs.kc);
  const EvenSplit depth{pr.k, panels};
  const std::int64_t kc_max = panels == 1 ? pr.k : ceil_div(pr.k, panels);
  const std::int64_t a_slivers = ceil_div(mm, bs.mr);
  const std::int64_t b_slivers = nr_tiles(nn, bs.nr);
  const OperandPlan op = plan_operands(pr, mm, nn, kc_max, threads, parallel);
  const bool direct_a = op.direct_a();
  const std::int64_t b_first_packed = op.b_first_packed;
  float* packed_a = direct_a ? nullptr : buffers.a.get(a_slivers * bs.mr * kc_max);
  float* packed_b = buffers.b.get(b_slivers * bs.nr * kc_max);
  const TileGrid grid = plan_tiles(bs, mm, nn, kc_max, threads, parallel, op.fuse_b);

  for (std::int64_t p = 0; p < panels; ++p) {
    const std::int64_t pc = depth.begin(p);
    const std::int64_t kc = depth.begin(p + 1) - pc;
    const float beta = p == 0 ? pr.beta : 1.0f;
    const bool last = p + 1 == panels;

    // Pack A (mm × kc, alpha folded in) and B (kc × nn) as groups of slivers, A's first.
    // Serially, one job packs all of A and one all of B.
    const std::int64_t b_to_pack = b_slivers - b_first_packed;
    const std::int64_t a_group = parallel ? std::max<std::int64_t>(1, kMinPackFloatsPerTask / (bs.mr * kc)) : a_slivers;
    const std::int64_t b_group = parallel ? std::max<std::int64_t>(1, kMinPackFloatsPerTask / (bs.nr * kc)) : b_to_pack;
    const std::int64_t a_jobs = direct_a ? 0 : parallel ? ceil_div(a_slivers, a_group) : 1;
    const std::int64_t b_jobs = b_to_pack == 0 ? 0 : parallel ? ceil_div(b_to_pack, b_group) : 1;
    auto pack_job = [&](std::int64_t job) {
      if (job < a_jobs) {
        const std::int64_t s0 = job * a_group, s1 = std::min(a_slivers, s0 + a_group);
        const std::int64_t x0 = s0 * bs.mr, extent = std::min(mm, s1 * bs.mr) - x0;
        ks.pack_a(pr.a.p + (ic + x0) * pr.a.rs + pc * pr.a.cs, pr.a.rs, pr.a.cs, extent, kc, pr.alpha,
                  packed_a + s0 * bs.mr * kc);
      } else {
        const std::int64_t s0 = (job - a_jobs) * b_group;
        const std::int64_t s1 = std::min(b_to_pack, s0 + b_group);
        const std::int64_t x0 = (b_first_packed + s0) * bs.nr;
        const std::int64_t extent = std::min(nn, (b_first_packed + s1) * bs.nr) - x0;
        ks.pack_b(pr.b.p + pc * pr.b.rs + (jc + x0) * pr.b.cs, pr.b.cs, pr.b.rs, extent, kc, 1.0f,
                  packed_b + (b_first_packed + s0) * bs.nr * kc);
      }
    };
    run_jobs(parallel, a_jobs + b_jobs, pack_job);

    // Each task owns a group of tile rows × a block of tile columns. Inside it the A sliver stays in
    // L1 while the B block (nc_l2 columns) streams from L2.
    const float alpha = direct_a ? pr.alpha : 1.0f;
    auto compute_task = [&](std::int64_t task) {
      const std::int64_t blocks = grid.col_blocks.parts;
      const std::int64_t rg = blocks == 1 ? task : task / blocks, cb = blocks == 1 ? 0 : task % blocks;
      const std::int64_t r0 = grid.row_groups.begin(rg), r1 = grid.row_groups.begin(rg + 1);
      const std::int64_t c0 = grid.col_blocks.begin(cb), c1 = grid.col_blocks.begin(cb + 1);
      auto tile = [&](std::int64_t rt, std::int64_t ct) {
        const std::int64_t i = rt * bs.mr, j = ct * bs.nr;
        const int mi = static_cast<int>(std::min<std::int64_t>(bs.mr, mm - i));
        const int nj = static_cast<int>(std::min<std::int64_t>(bs.nr, nn - j));
        // B from the source: read in place, or packed on this first use (the task's first tile row).
        const bool b_source = ct < b_first_packed && (op.direct_b || rt == r0);
        const float* a_sliver = direct_a ? pr.a.p + (ic + i) * pr.a.rs + pc * pr.a.cs : packed_a + rt * bs.mr * kc;
        float* b_packed = packed_b + ct * bs.nr * kc;
        const float* b_sliver = b_source ? pr.b.p + pc * pr.b.rs + (jc + j) : b_packed;
        const auto rows = static_cast<std::size_t>(mi - 1);
        const Operands mode = op.direct_a_rows                  ? Operands::ARows
                              : op.direct_a_cols || op.direct_b ? Operands::Stepped
                              : b_source                        ? Operands::PackB
                                                                : Operands::Packed;
        const MicroKernel kernel = ks.kernels[static_cast<std::size_t>(mode)][rows];
        kernel(kc, a_sliver,
               op.direct_a_rows   ? pr.a.rs
               : op.direct_a_cols ? pr.a.cs
                                  : bs.mr,
               b_sliver, b_source ? pr.b.rs : bs.nr, b_packed, pr.c + (ic + i) * pr.rs_c + (jc + j) * pr.cs_c, pr.rs_c,
               pr.cs_c, nj, alpha, beta);
        if (last && pr.has_epilogue && !pr.swapped) apply_epilogue(pr, ic + i, mi, jc + j, nj);
      };
      if (op.direct_b) {
        // B read in place is not compact: keep each B sliver hot (L1/L2) across the few A slivers.
        for (std::int64_t ct = c0; ct < c1; ++ct) {
          for (std::int64_t rt = r0; rt < r1; ++rt) tile(rt, ct);
        }
      } else {
        // The A sliver stays in L1 while the packed B block streams from L2.
        for (std::int64_t rt = r0; rt < r1; ++rt) {
          for (std::int64_t ct = c0; ct < c1; ++ct) tile(rt, ct);
        }
      }
      // A swapped tile is only mr columns of C wide: its rows are too short for the epilogue's
      // vectors (sigmoid per tile cost 6× the pass below). Apply it to the task's whole region.
      if (last && pr.has_epilogue && pr.swapped) {
        const std::int64_t i0 = r0 * bs.mr, j0 = c0 * bs.nr;
        apply_epilogue(pr, ic + i0, std::min(r1 * bs.mr, mm) - i0, jc + j0, std::min(c1 * bs.nr, nn) - j0);
      }
    };
    run_jobs(parallel, grid.tasks(), compute_task);
  }
}

}  // namespace

void run_gemm(const KernelSet& isa_kernels, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, MatrixView a,
              MatrixView b, float beta, float* c, std::int64_t ldc, const Epilogue& epilogue) {
  const KernelChoice choice = choose_kernels(isa_kernels, m, n, k);
  const KernelSet& ks = *choice.kernels;
  const bool swapped = choice.swapped;
  const bool has_epilogue = changes_c(epilogue);
  // Swapped: Cᵀ (n×m) = op(B)ᵀ·op(A)ᵀ, with Cᵀ(i, j) = C(j, i) at c[i + j*ldc].
  const Problem pr = swapped ? Problem{ks,
                                       n,
                                       m,
                                       k,
                                       alpha,
                                       MatrixView{b.p, b.cs, b.rs},
                                       MatrixView{a.p, a.cs, a.rs},
                                       beta,
                                       c,
                                       1,
                                       ldc,
                                       true,
                                       ldc,
                                       epilogue,
                                       has_epilogue}
                             : Problem{ks, m, n, k, alpha, a, b, beta, c, ldc, 1, false, ldc, epilogue, has_epilogue};
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int threads = flops >= kSerialBelowFlops ? max_threads() : 1;  // asking TBB costs on tiny calls
  const bool parallel = threads > 1;

  PackBufferLease buffers;
  const BlockSizes& bs = ks.blocks;
  for (std::int64_t ic = 0; ic < pr.m; ic += bs.mc_l3) {
    for (std::int64_t jc = 0; jc < pr.n; jc += bs.nc_l3) {
      run_chunk(pr, *buffers, ic, std::min<std::int64_t>(bs.mc_l3, pr.m - ic), jc,
                std::min<std::int64_t>(bs.nc_l3, pr.n - jc), threads, parallel);
    }
  }
}

}  // namespace tessera::detail
