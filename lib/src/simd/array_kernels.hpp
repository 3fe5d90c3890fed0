// Array operations that are not GEMM but share its SIMD building blocks, compiled once per
// instruction set (like the GEMM kernels) and picked at run time to match the active GEMM ISA.
#pragma once

#include <cstdint>

#include "layers/im2col.hpp"
#include "tessera/gemm.hpp"

namespace tessera::detail {

// A sparse matrix (compressed rows) times a dense one: for r in [0, rows),
//   C[r, 0..n) = Σ_{e in [offsets[r], offsets[r+1])} value[e]·B[index[e], 0..n) + beta·C[r, 0..n),
// summing the entries in order (beta == 0 writes C without reading it). B and C are row-major.
// For image inputs, most of whose pixels are zero: MNIST's are 81% zeros.
using SparseRowsFn = void (*)(std::int64_t rows, std::int64_t n, const std::int32_t* offsets, const std::int32_t* index,
                              const float* value, const float* b, std::int64_t ldb, float beta, float* c,
                              std::int64_t ldc);

// Writes the nonzeros of x[0..n) as (index, value) pairs, index = p + base, in order; returns their
// count. May write up to n + 16 entries (the slack must exist).
using CompressFn = std::int64_t (*)(const float* x, std::int64_t n, std::int32_t base, std::int32_t* index,
                                    float* value);

// dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols: a matrix transposed, through register
// transposes of 8×8 blocks where the ISA has them.
using TransposeFn = void (*)(const float* src, std::int64_t rows, std::int64_t cols, std::int64_t lds, float* dst,
                             std::int64_t ldd);

// dst[i] = scale·src[i] for bytes src[0..n): image pixels to floats.
using BytesToFloatsFn = void (*)(const std::uint8_t* src, std::int64_t n, float scale, float* dst);

// A convolution with a small receptive field, directly: for output pixel (oh, ow) and channel j,
//   y[(oh·g.ow + ow)·n + j] = act(Σ_{kh, kw, ci} padded(oh·s + kh, ow·s + kw, ci)·w[((kh·k + kw)·c + ci)·n + j]
//                                 + bias[j]),
// the taps summed in that order with FMAs from zero, then the bias added and the activation applied, as
// im2col and gemm's tiled kernels and epilogue compute it (bit for bit, tests/layers/test_conv2d.cpp). padded: the
// image zero-padded by g.pad, (h + 2·pad) × (w + 2·pad) × c; bias may be null.
using SmallConvFn = void (*)(const ConvGeometry& g, const float* padded, const float* w, const float* bias,
                             Activation activation, float* y);

struct ArrayKernels {
  SparseRowsFn sparse_rows;
  CompressFn compress;
  TransposeFn transpose;
  BytesToFloatsFn bytes_to_floats;
  SmallConvFn small_conv;
};

const ArrayKernels& array_kernels_avx512();
const ArrayKernels& array_kernels_avx2();
const ArrayKernels& array_kernels_generic();
// The set matching tessera::gemm_isa().
const ArrayKernels& active_array_kernels();

}  // namespace tessera::detail
