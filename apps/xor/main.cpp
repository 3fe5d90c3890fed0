// Learns XOR with a 2-4-1 sigmoid network, mean squared error and SGD: the smallest complete
// Tessera training program.
#include <cstdio>
#include <vector>

#include "tessera/tessera.hpp"

int main() {
  using namespace tessera;
  Sequential net(Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid());
  net.initialize(/*seed=*/7);
  SGD optimizer(net, SGDOptions(2.0f).momentum(0.9f));
  const MSE loss;

  // The four cases, one per row, and their targets.
  Tensor x(Shape{4, 2}), target(Shape{4, 1});
  const float cases[4][3] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 1}, {1, 1, 0}};
  for (int i = 0; i < 4; ++i) {
    x.at(i, 0) = cases[i][0];
    x.at(i, 1) = cases[i][1];
    target[i] = cases[i][2];
  }

  for (int epoch = 1; epoch <= 2000; ++epoch) {
    optimizer.zero_grad();
    const float error = loss.compute(net.forward(x), target, &net.output_gradient());
    net.backward(net.output_gradient());
    optimizer.step();
    if (epoch % 500 == 0) std::printf("epoch %4d  mse %.6f\n", epoch, static_cast<double>(error));
  }

  const Tensor& y = net.forward(x);
  int correct = 0;
  for (int i = 0; i < 4; ++i) {
    const bool predicted = y[i] > 0.5f;
    correct += predicted == (target[i] > 0.5f);
    std::printf("%g xor %g -> %.3f\n", static_cast<double>(x.at(i, 0)), static_cast<double>(x.at(i, 1)),
                static_cast<double>(y[i]));
  }
  std::printf("accuracy %d/4\n", correct);
  return correct == 4 ? 0 : 1;
}
