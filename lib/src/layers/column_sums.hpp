// Bias gradients: the column sums of a rows × cols matrix, each column summed top to bottom.
#pragma once

#include <cstdint>

namespace tessera::detail {

// out[j] (+)= Σ_i m[i·ld + j], rows in order 0, 1, …: the same sum whatever the number of threads.
// Parallel over blocks of columns when there is enough work.
void column_sums(const float* m, std::int64_t rows, std::int64_t cols, std::int64_t ld, float* out, bool accumulate);

}  // namespace tessera::detail
