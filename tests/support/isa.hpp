// The ISAs this CPU runs, and a scope that switches the kernels (GEMM and optimizer) to one of them.
#pragma once

#include <ostream>
#include <vector>

#include "tessera/gemm.hpp"

namespace tessera {
// Lets Boost.Test name the ISA of each data-driven case.
inline std::ostream& operator<<(std::ostream& os, Isa isa) { return os << to_string(isa); }
}  // namespace tessera

namespace tessera::test {

inline std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
    if (isa_supported(isa)) out.push_back(isa);
  }
  return out;
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
