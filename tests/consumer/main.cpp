// Multiplies two small matrices and trains a tiny network through the installed tessera package, and
// checks both results.
#include <tessera/tessera.hpp>

#include <cstdio>
#include <vector>

#ifdef CONSUMER_DISTRIBUTED
#include <tessera/distributed.hpp>
#endif
#ifdef CONSUMER_ONNX
#include <tessera/onnx.hpp>

#include <filesystem>
#endif

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
  // The user's own float table: a regression through Trainer, its features standardised in the model.
  std::vector<float> features, values;
  for (int i = 0; i < 64; ++i) {
    const float u = static_cast<float>(i % 8) * 10.0f, v = static_cast<float>(i / 8) * 0.1f;
    features.insert(features.end(), {u, v});
    values.push_back(0.05f * u - 3.0f * v);
  }
  const tessera::data::Dataset table(features, tessera::Shape{2}, tessera::data::Targets::values(values));
  tessera::Standardize standardize(2);
  standardize.fit(table);
  tessera::Sequential regression(standardize, tessera::Dense(2, 8), tessera::Tanh(), tessera::Dense(8, 1));
  regression.initialize(2);
  tessera::Adam adam(regression, tessera::AdamOptions(1e-2f));
  tessera::TrainerOptions options;
  options.epochs = 30;
  options.batch_size = 16;
  options.progress = tessera::Progress::None;
  const auto history = tessera::Trainer(regression, tessera::MSE(), adam, options).fit(table, &table);
  if (!(history.back().test.r2 > 0.9)) {
    std::printf("consumer: the regression reached R² %g only\n", history.back().test.r2);
    return 1;
  }
#ifdef CONSUMER_DISTRIBUTED
  if (tessera::distributed::Session::launched_by_mpi()) {
    std::printf("consumer: not started by mpirun, yet launched_by_mpi() says so\n");
    return 1;
  }
  std::printf("consumer: tessera::distributed links\n");
#endif
#ifdef CONSUMER_ONNX
  // The network above as ONNX and back: the same outputs.
  const auto file = std::filesystem::temp_directory_path() / "tessera-consumer.onnx";
  tessera::save_onnx(net, file);
  tessera::Graph back = tessera::load_onnx(file);
  std::filesystem::remove(file);
  const tessera::Tensor want = net.forward(x).clone();
  const tessera::Tensor& got = back.forward(x);
  for (int i = 0; i < 4; ++i) {
    if (got[i] != want[i]) {
      std::printf("consumer: the ONNX copy gives %g where the network gives %g\n", static_cast<double>(got[i]),
                  static_cast<double>(want[i]));
      return 1;
    }
  }
  std::printf("consumer: tessera::onnx links and round-trips\n");
#endif
  std::printf("consumer: gemm through the installed package is correct (isa %.*s)\n",
              static_cast<int>(tessera::to_string(tessera::gemm_isa()).size()),
              tessera::to_string(tessera::gemm_isa()).data());
  return 0;
}
