// Loops outside the GEMM kernels are compiled for baseline x86-64 (SSE2), so that the library runs on
// any x86-64 CPU. TESSERA_VECTOR_CLONES marks the memory-bound loops of the layers (pooling, im2col,
// col2im, column sums, the nonzero count of a sparse input) to be compiled once more for AVX2 and for
// AVX-512, the loader picking the widest the CPU has (function multiversioning, GCC and Clang). Only
// for loops whose results do not depend on the vector width: copies, comparisons and additions of
// independent elements, with no reordered sums and nothing a compiler could contract into a fused
// multiply-add. Not under the sanitizers: the loader runs the resolvers before their runtimes are
// set up (a ThreadSanitizer build crashes there), and the clones are the same source as the default.
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define TESSERA_NO_VECTOR_CLONES
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TESSERA_NO_VECTOR_CLONES
#endif

// The x86-64-v3/v4 level names need GCC 11 or Clang 14.
#if defined(__clang__)
#define TESSERA_CLONES_KNOWN_TO_COMPILER (__clang_major__ >= 14)
#else
#define TESSERA_CLONES_KNOWN_TO_COMPILER (__GNUC__ >= 11)
#endif

#if defined(__x86_64__) && defined(__ELF__) && TESSERA_CLONES_KNOWN_TO_COMPILER && !defined(TESSERA_NO_VECTOR_CLONES)
#define TESSERA_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TESSERA_VECTOR_CLONES
#endif
