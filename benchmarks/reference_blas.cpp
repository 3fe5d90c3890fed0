// OpenBLAS (cblas_sgemm) and oneDNN (dnnl_sgemm) behind GemmLibrary.
#include "reference_blas.hpp"

#include <string>

#ifdef TESSERA_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef TESSERA_HAVE_DNNL
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

namespace tessera::bench {

#ifdef TESSERA_HAVE_OPENBLAS
namespace {
int openblas_threads(int threads) {
  openblas_set_num_threads(threads);
  return openblas_get_num_threads();
}
void openblas_sgemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                    std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta == Trans::Yes ? CblasTrans : CblasNoTrans, tb == Trans::Yes ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}
}  // namespace
#endif

#ifdef TESSERA_HAVE_DNNL
namespace {
// Debian's oneDNN runs on OpenMP: its thread count is OpenMP's.
int dnnl_threads(int threads) {
  omp_set_num_threads(threads);
  return omp_get_max_threads();
}
void dnnl_gemm(Trans ta, Trans tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
               std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  dnnl_sgemm(ta == Trans::Yes ? 'T' : 'N', tb == Trans::Yes ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
}  // namespace
#endif

const char* openblas_better_core() {
#ifdef TESSERA_HAVE_OPENBLAS
  // The cores of 0.3.21's DYNAMIC_ARCH list that predate AVX2: on a CPU it does not know (Intel's
  // Emerald Rapids is taken for a Prescott) it falls back to one of these.
  const std::string core = openblas_get_corename();
  for (const char* old : {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Barcelona",
                          "Bobcat", "Bulldozer", "Piledriver", "Steamroller", "Excavator", "Katmai", "Coppermine",
                          "Northwood", "Banias", "Opteron", "Opteron_SSE3"}) {
    if (core == old) {
      if (isa_supported(Isa::Avx512)) return "SkylakeX";
      if (isa_supported(Isa::Avx2)) return "Haswell";
    }
  }
#endif
  return nullptr;
}

std::vector<GemmLibrary> reference_libraries() {
  std::vector<GemmLibrary> libs;
#ifdef TESSERA_HAVE_OPENBLAS
  // OPENBLAS_VERSION reads " OpenBLAS 0.3.21 ": keep the number only.
  std::string version = OPENBLAS_VERSION;
  version = version.substr(version.find_first_of("0123456789"));
  version = version.substr(0, version.find_last_of("0123456789") + 1);
  libs.push_back({"OpenBLAS", &openblas_threads, &openblas_sgemm, version + " (core " + openblas_get_corename() + ")"});
#endif
#ifdef TESSERA_HAVE_DNNL
  const dnnl_version_t* v = dnnl_version();
  libs.push_back({"oneDNN", &dnnl_threads, &dnnl_gemm,
                  std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)});
#endif
  return libs;
}

}  // namespace tessera::bench
