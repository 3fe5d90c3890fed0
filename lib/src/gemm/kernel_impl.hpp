// One ISA's KernelSet, assembled from the micro-kernel, packing, epilogue and gemv templates written
// once over an xsimd architecture. Only the per-ISA gemm/kernel_*.cpp files include this, each
// compiled with its own -m flags; everything here is a template over Arch or has internal linkage,
// so no ISA-specific code leaks into other objects.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include "gemm/block_sizes.hpp"
#include "gemm/epilogue.hpp"
#include "gemm/gemv_kernels.hpp"
#include "gemm/kernel_set.hpp"
#include "gemm/micro_kernel.hpp"
#include "gemm/packing.hpp"

namespace tessera::detail {
namespace {

// PrefetchSteps: how many k-steps ahead the kernel prefetches the B stream (measured per ISA).
template <class Arch, int MR, int NR, int PrefetchSteps>
KernelSet make_kernel_set(Isa isa, const char* name, const BlockRules& rules, const KernelSet* narrow = nullptr) {
  static_assert(MR <= kMaxMr);
  static_assert((NR & (NR - 1)) == 0, "the driver divides by NR with shifts");
  if (rules.mr != MR || rules.nr != NR) throw std::logic_error(std::string(name) + ": block rules for another tile");
  return KernelSet{isa,
                   name,
                   block_sizes_for(rules),
                   {kernel_table<Arch, MR, NR, PrefetchSteps, Operands::Packed>(std::make_integer_sequence<int, MR>{}),
                    kernel_table<Arch, MR, NR, PrefetchSteps, Operands::Stepped>(std::make_integer_sequence<int, MR>{}),
                    kernel_table<Arch, MR, NR, PrefetchSteps, Operands::ARows>(std::make_integer_sequence<int, MR>{}),
                    kernel_table<Arch, MR, NR, PrefetchSteps, Operands::PackB>(std::make_integer_sequence<int, MR>{})},
                   &pack<Arch, MR>,
                   &pack<Arch, NR>,
                   &epilogue<Arch>,
                   &gemv_rows<Arch>,
                   &gemv_dots<Arch>,
                   narrow};
}

}  // namespace
}  // namespace tessera::detail
