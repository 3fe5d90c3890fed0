// The optimizer updates as one vectorised loop each, compiled once per instruction set (like the GEMM
// kernels) and picked at run time to match the active GEMM ISA.
#pragma once

#include <cstdint>

namespace tessera::detail {

// One SGD step (PyTorch's formulation): g' = g + wd·p; with momentum μ: v = g' on the first step,
// else μ·v + g'; the step direction is v (or g' + μ·v with Nesterov); p −= lr·direction.
struct SgdStep {
  float lr;
  float momentum;  // 0: plain SGD, v is not touched (and may be null)
  float weight_decay;
  bool nesterov;
  bool first;
};

// One AdamW step: p ·= decay; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
// p −= step_size · m / (sqrt(v)·inv_sqrt_bc2 + eps), with step_size = lr / (1 − β1^t),
// inv_sqrt_bc2 = 1 / sqrt(1 − β2^t) and decay = 1 − lr·weight_decay.
struct AdamStep {
  float step_size;
  float beta1;
  float beta2;
  float eps;
  float inv_sqrt_bc2;
  float decay;
};

struct UpdateKernels {
  // Each updates elements [0, n) of its arrays.
  void (*sgd)(float* p, const float* g, float* v, std::int64_t n, const SgdStep& s);
  void (*adam)(float* p, const float* g, float* m, float* v, std::int64_t n, const AdamStep& s);
};

const UpdateKernels& update_kernels_avx512();
const UpdateKernels& update_kernels_avx2();
const UpdateKernels& update_kernels_generic();
// The set matching tessera::gemm_isa().
const UpdateKernels& active_update_kernels();

}  // namespace tessera::detail
