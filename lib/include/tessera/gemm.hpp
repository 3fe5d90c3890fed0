// Tessera's single-precision matrix multiply: the BLAS-style entry point, the fused epilogue the layers
// use, and the control over which instruction set the kernels run on.
#pragma once

#include <cstdint>
#include <string_view>

namespace tessera {

enum class Trans { No, Yes };

// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C. op(A) is m×k, op(B) is k×n.
// BLAS semantics: beta = 0 overwrites C (NaN or Inf already in C do not leak), m, n or k = 0 are valid,
// alpha = 0 (or k = 0) only scales C by beta. Throws std::invalid_argument naming the bad argument for
// negative sizes, leading dimensions smaller than the row width, or null pointers where data is read.
// The result is bit-identical for any number of threads.
void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);

enum class Activation { Identity, ReLU, Sigmoid, Tanh };

// What a layer adds to each output tile while it is still in cache:
//   C = act(alpha·op(A)·op(B) + beta·C + bias), bias indexed by column (size n), or none when null.
struct Epilogue {
  const float* bias = nullptr;
  Activation activation = Activation::Identity;
};

void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
          const Epilogue& epilogue);

// The kernel families. The best one the CPU supports is chosen at first use; the environment variable
// TESSERA_ISA=avx512|avx2|generic forces one, and TESSERA_VERBOSE=1 prints the choice and block sizes.
enum class Isa { Generic, Avx2, Avx512 };

std::string_view to_string(Isa isa) noexcept;
bool isa_supported(Isa isa) noexcept;
// The family gemm uses now.
Isa gemm_isa();
// Switches every later gemm call to `isa`, process-wide; throws std::invalid_argument if the CPU
// lacks it. Not meant to be called while other threads are inside gemm.
void set_gemm_isa(Isa isa);

}  // namespace tessera
