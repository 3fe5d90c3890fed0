// Training epochs and inference passes of the app's presets, timed.
#include "preset_runs.hpp"

#include <chrono>
#include <span>
#include <stdexcept>

namespace tessera::bench {

std::vector<double> epoch_rates(const data::Dataset& train, const tessera_app::Preset& preset, std::int64_t batch,
                                int epochs) {
  Graph net = tessera_app::build_network(preset, train.example_shape(), train.classes());
  net.initialize(1, preset.init);
  const auto loss = tessera_app::make_loss(preset.loss);
  const auto optimizer = tessera_app::make_optimizer(preset.optimizer, preset.lr, LRSchedule::constant(), net);
  TrainerOptions options;
  options.batch_size = batch;
  options.epochs = epochs;
  options.progress = Progress::None;
  Trainer trainer(net, *loss, *optimizer, options);
  std::vector<double> rates;
  for (int e = 1; e <= epochs; ++e) rates.push_back(trainer.train_epoch(train, e).examples_per_second);
  return rates;
}

Graph inference_network(const data::Dataset& data, const tessera_app::Preset& preset) {
  Graph net = tessera_app::build_network(preset, data.example_shape(), data.classes());
  net.initialize(1, preset.init);
  net.eval();
  return net;
}

std::vector<double> inference_rates(const data::Dataset& test, const tessera_app::Preset& preset, std::int64_t batch,
                                    int repeats) {
  if (test.size() < batch) {
    throw std::invalid_argument("inference at batch " + std::to_string(batch) + " needs that many test images, got " +
                                std::to_string(test.size()));
  }
  Graph net = inference_network(test, preset);
  const auto order = test.sequential_order();
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  Tensor x(net.in_shape().with_batch(batch));
  const std::int64_t images = test.size() / batch * batch;
  std::vector<double> rates;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t first = 0; first + batch <= test.size(); first += batch) {
      test.gather(order, first, x, labels);
      net.forward(x);
    }
    rates.push_back(static_cast<double>(images) /
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return rates;
}

}  // namespace tessera::bench
