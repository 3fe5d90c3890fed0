// The ISAs this CPU runs, and a scope that switches the kernels (GEMM and optimizer) to one of them.
#pragma once

#include <cstdlib>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "tessera/gemm.hpp"

namespace tessera {
// Lets Boost.Test name the ISA of each data-driven case.
inline std::ostream& operator<<(std::ostream& os, Isa isa) { return os << to_string(isa); }
}  // namespace tessera

namespace tessera::test {

// Says once per test program which paths this CPU cannot run, so a pass never hides a path untested.
inline std::vector<Isa> supported_isas() {
  static const std::vector<Isa> out = [] {
    std::vector<Isa> isas;
    std::string skipped;
    for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
      if (isa_supported(isa)) {
        isas.push_back(isa);
      } else {
        skipped += (skipped.empty() ? "" : ", ") + std::string(to_string(isa));
      }
    }
    if (!skipped.empty()) std::clog << "tests: ISA paths skipped, this CPU lacks them: " << skipped << "\n";
    return isas;
  }();
  return out;
}

// A test program run with TESSERA_ISA forcing a path this CPU lacks: says so and exits with 77,
// which CTest reports as skipped (SKIP_RETURN_CODE). Call first thing, e.g. from a global fixture.
inline void skip_if_forced_isa_unsupported() {
  const char* forced = std::getenv("TESSERA_ISA");
  if (forced == nullptr) return;
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
    if (to_string(isa) == forced && !isa_supported(isa)) {
      std::clog << "skipped: TESSERA_ISA=" << forced << " but this CPU lacks " << forced << "\n";
      std::exit(77);
    }
  }
}

// Runs the enclosed code on one ISA, restoring the previous one afterwards.
class IsaScope {
 public:
  explicit IsaScope(Isa isa) : previous_(gemm_isa()) { set_gemm_isa(isa); }
  ~IsaScope() { set_gemm_isa(previous_); }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;

 private:
  Isa previous_;
};

}  // namespace tessera::test
