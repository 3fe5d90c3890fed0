// Run-time choice of the kernel family: the CPU's features, TESSERA_ISA, TESSERA_VERBOSE (which also
// prints the block sizes and the caches they were derived from).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gemm/kernel_set.hpp"
#include "isa_choice.hpp"
#include "tessera/cpu.hpp"
#include "tessera/threading.hpp"

namespace tessera {

std::string_view to_string(Isa isa) noexcept {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    case Isa::Generic:
      break;
  }
  return "generic";
}

bool isa_supported(Isa isa) noexcept {
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  switch (isa) {
    case Isa::Avx512:
      return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    case Isa::Avx2:
      return avx2;
    case Isa::Generic:
      return true;
  }
  return false;
}

namespace detail {
namespace {

const KernelSet& kernel_set_for(Isa isa) {
  return table_for_isa(isa, &kernel_set_avx512, &kernel_set_avx2, &kernel_set_generic);
}

Isa isa_from_environment() {
  const char* forced = std::getenv("TESSERA_ISA");
  if (forced == nullptr || *forced == '\0') {
    return isa_supported(Isa::Avx512) ? Isa::Avx512 : isa_supported(Isa::Avx2) ? Isa::Avx2 : Isa::Generic;
  }
  for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Generic}) {
    if (to_string(isa) == forced) {
      if (!isa_supported(isa)) {
        throw std::runtime_error("TESSERA_ISA=" + std::string(forced) + ": this CPU does not support it");
      }
      return isa;
    }
  }
  throw std::invalid_argument("TESSERA_ISA=" + std::string(forced) +
                              ": unknown value (expected avx512, avx2 or generic)");
}

std::string kib(std::int64_t bytes) { return std::to_string(bytes / 1024) + " KiB"; }

std::string describe_blocks(const KernelSet& set) {
  const BlockSizes& b = set.blocks;
  const CacheSizes& c = cpu_info().caches;
  return "isa " + std::string(to_string(set.isa)) + ", kernel " + set.name + ", MR=" + std::to_string(b.mr) +
         " NR=" + std::to_string(b.nr) + " KC=" + std::to_string(b.kc) + " NC_L2=" + std::to_string(b.nc_l2) +
         " MC_L3=" + std::to_string(b.mc_l3) + " NC_L3=" + std::to_string(b.nc_l3) + ", direct A up to " +
         std::to_string(b.direct_a_max_cols) + " columns, direct B up to " + std::to_string(b.direct_b_max_rows) +
         " rows; from caches L1d " + kib(c.l1d) + ", L2 " + kib(c.l2) + ", L3 " + kib(c.l3) + " (" + c.source + ")";
}

void print_choice(const KernelSet& set, const char* why) {
  std::fprintf(stderr, "tessera: gemm %s: %s, threads %d\n", why, describe_blocks(set).c_str(), max_threads());
}

bool verbose() {
  const char* v = std::getenv("TESSERA_VERBOSE");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

std::atomic<const KernelSet*>& active_slot() {
  static std::atomic<const KernelSet*> slot{[] {
    const KernelSet* set = &kernel_set_for(isa_from_environment());
    if (verbose()) print_choice(*set, "chosen");
    return set;
  }()};
  return slot;
}

}  // namespace

const KernelSet& active_kernel_set() { return *active_slot().load(std::memory_order_acquire); }

}  // namespace detail

Isa gemm_isa() { return detail::active_kernel_set().isa; }

std::string describe_machine() {
  const CpuInfo& cpu = cpu_info();
  return cpu.model + ", " + std::to_string(cpu.logical_cpus) + " logical CPUs; gemm " +
         detail::describe_blocks(detail::active_kernel_set());
}

void set_gemm_isa(Isa isa) {
  if (isa != Isa::Generic && isa != Isa::Avx2 && isa != Isa::Avx512) {
    throw std::invalid_argument("tessera::set_gemm_isa: unknown ISA value " + std::to_string(static_cast<int>(isa)));
  }
  if (!isa_supported(isa)) {
    throw std::invalid_argument("tessera::set_gemm_isa: this CPU does not support " + std::string(to_string(isa)));
  }
  const detail::KernelSet* set = &detail::kernel_set_for(isa);
  detail::active_slot().store(set, std::memory_order_release);
  if (detail::verbose()) detail::print_choice(*set, "set");
}

}  // namespace tessera
