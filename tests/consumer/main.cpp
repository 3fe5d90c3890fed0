// Multiplies two small matrices through the installed tessera package and checks the result.
#include <tessera/gemm.hpp>
#include <tessera/threading.hpp>

#include <cstdio>

int main() {
  const float a[2 * 3] = {1, 2, 3, 4, 5, 6};     // 2×3
  const float b[3 * 2] = {7, 8, 9, 10, 11, 12};  // 3×2
  float c[2 * 2] = {};
  tessera::ThreadLimit limit(2);
  tessera::gemm(tessera::Trans::No, tessera::Trans::No, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
  const float expected[4] = {58, 64, 139, 154};
  for (int i = 0; i < 4; ++i) {
    if (c[i] != expected[i]) {
      std::printf("consumer: C[%d] = %g, expected %g\n", i, static_cast<double>(c[i]),
                  static_cast<double>(expected[i]));
      return 1;
    }
  }
  std::printf("consumer: gemm through the installed package is correct (isa %.*s)\n",
              static_cast<int>(tessera::to_string(tessera::gemm_isa()).size()),
              tessera::to_string(tessera::gemm_isa()).data());
  return 0;
}
