// The one switch over the kernel families, shared by every per-ISA table (GEMM kernels, optimizer
// updates, array operations), so that a new ISA is added to each in the same way.
#pragma once

#include "tessera/gemm.hpp"

namespace tessera::detail {

template <class Table>
const Table& table_for_isa(Isa isa, const Table& (*avx512)(), const Table& (*avx2)(), const Table& (*generic)()) {
  switch (isa) {
    case Isa::Avx512:
      return avx512();
    case Isa::Avx2:
      return avx2();
    case Isa::Generic:
      break;
  }
  return generic();
}

}  // namespace tessera::detail
