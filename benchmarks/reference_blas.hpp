// The reference libraries bench_gemm compares against, behind one interface; each is present only
// when the build found it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/gemm.hpp"

namespace tessera::bench {

struct GemmLibrary {
  std::string name;
  // Sets the library's thread count; returns the count it reports back afterwards.
  int (*set_threads)(int threads);
  void (*sgemm)(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
  std::string version;
};

// OpenBLAS and oneDNN, those that were found at build time.
std::vector<GemmLibrary> reference_libraries();

// When OpenBLAS did not recognise this CPU and chose a core without AVX2, the OPENBLAS_CORETYPE that
// runs its best kernels here ("SkylakeX" or "Haswell"); null when its choice is fine. OpenBLAS reads
// the variable only when it is loaded: set it and restart the process.
const char* openblas_better_core();

}  // namespace tessera::bench
