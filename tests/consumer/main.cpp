// Multiplies two small matrices and trains a tiny network through the installed tessera package, and
// checks both results.
#include <tessera/tessera.hpp>

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
  // A network through the public headers: one SGD step on a 3-2 Dense layer lowers the loss.
  tessera::Sequential net(tessera::Dense(3, 4), tessera::Tanh(), tessera::Dense(4, 2));
  net.initialize(1);
  tessera::SGD opt(net, tessera::SGDOptions(0.1f));
  tessera::Tensor x(tessera::Shape{2, 3});
  for (int i = 0; i < 6; ++i) x[i] = a[i] / 6.0f;
  const int labels[2] = {0, 1};
  const tessera::SoftmaxCrossEntropy loss;
  float before = 0.0f, after = 0.0f;
  for (float* value : {&before, &after}) {
    opt.zero_grad();
    *value = loss.compute(net.forward(x), labels, &net.output_gradient());
    net.backward(net.output_gradient());
    opt.step();
  }
  if (!(after < before)) {
    std::printf("consumer: an SGD step did not lower the loss (%g -> %g)\n", static_cast<double>(before),
                static_cast<double>(after));
    return 1;
  }
  std::printf("consumer: gemm through the installed package is correct (isa %.*s)\n",
              static_cast<int>(tessera::to_string(tessera::gemm_isa()).size()),
              tessera::to_string(tessera::gemm_isa()).data());
  return 0;
}
