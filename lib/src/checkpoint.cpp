// Checkpoint files: a model file inside, then the layers' random state, the optimizer's state and the
// run's position; written and checked with files/byte_codec.
#include "tessera/checkpoint.hpp"

#include <cmath>
#include <stdexcept>

#include "files/byte_codec.hpp"
#include "files/model_codec.hpp"

namespace tessera {

namespace {
constexpr char kMagic[8] = {'T', 'S', 'R', 'C', 'K', 'P', 'N', 'T'};
}  // namespace

void save_checkpoint(const std::filesystem::path& file, Graph& net, const Optimizer& optimizer,
                     const TrainingProgress& progress, const ModelMetadata& metadata) {
  if (optimizer.size() != net.parameter_count()) {
    throw std::invalid_argument("save_checkpoint: the optimizer updates " + std::to_string(optimizer.size()) +
                                " parameters, the network has " + std::to_string(net.parameter_count()));
  }
  detail::require_reloadable(file, net);
  detail::ByteWriter w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kCheckpointFormatVersion);
  w.string_map(metadata);
  const std::vector<std::uint8_t> model = detail::encode_model(net, {});
  w.u64(model.size());
  w.bytes(model.data(), model.size());
  w.u32(static_cast<std::uint32_t>(net.size()));
  for (std::size_t i = 0; i < net.size(); ++i) {
    const std::vector<std::uint64_t> state = net.layer(i).random_state();
    w.u32(static_cast<std::uint32_t>(state.size()));
    for (std::uint64_t v : state) w.u64(v);
  }
  const OptimizerState os = optimizer.state();
  w.string(optimizer.name());
  w.string(os.kind);
  w.i64(os.steps);
  w.f32(os.base_learning_rate);
  w.u32(static_cast<std::uint32_t>(os.buffers.size()));
  for (const auto& b : os.buffers) w.floats(b.data(), b.size());
  const TrainingProgress& p = progress;
  w.u64(p.seed);
  for (std::int64_t v : {p.batch_size, p.epochs, p.examples_per_epoch, p.epoch, p.step}) w.i64(v);
  w.f64(p.loss_sum);
  w.i64(p.correct);
  w.i64(p.examples);
  w.f64(p.seconds);
  w.f64(p.abs_error_sum);
  w.f64(p.squared_error_sum);
  w.i64(p.best_epoch);
  w.f64(p.best_loss);
  w.floats(p.best_parameters.data(), p.best_parameters.size());
  w.seal();
  detail::write_atomically(file, w.buffer());
}

Checkpoint load_checkpoint(const std::filesystem::path& file) {
  const std::vector<std::uint8_t> bytes = detail::read_file(file);
  auto [version, b] = detail::open_sealed(file, bytes, kMagic, kCheckpointFormatVersion, "Tessera checkpoint");
  Checkpoint c;
  c.metadata = b.string_map("metadata");

  const std::uint64_t model_bytes = b.count(b.u64("model"), 1, "model byte");
  const std::uint8_t* model = b.take(model_bytes);
  c.network = detail::decode_model(file, std::vector<std::uint8_t>(model, model + model_bytes)).network;

  const std::uint64_t layers = b.count(b.u32("random states"), 4, "layer state");
  if (layers != c.network.size()) {
    b.fail("holds the random state of " + std::to_string(layers) + " layers for a network of " +
           std::to_string(c.network.size()));
  }
  for (std::size_t i = 0; i < c.network.size(); ++i) {
    std::vector<std::uint64_t> state(static_cast<std::size_t>(b.count(b.u32("random states"), 8, "random state")));
    for (auto& v : state) v = b.u64("random states");
    try {
      c.network.layer(i).set_random_state(state);
    } catch (const std::invalid_argument& e) {
      b.fail(std::string("layer ") + std::to_string(i) + ": " + e.what());
    }
  }

  c.optimizer = b.string("optimizer");
  OptimizerState& os = c.optimizer_state;
  os.kind = b.string("optimizer");
  os.steps = b.i64("optimizer");
  os.base_learning_rate = b.f32("optimizer");
  if (os.steps < 0) b.fail("a negative optimizer step count");
  if (!(std::isfinite(os.base_learning_rate) && os.base_learning_rate > 0.0f)) b.fail("a bad learning rate");
  const std::uint64_t buffers = b.count(b.u32("optimizer"), 8, "optimizer buffer");
  for (std::uint64_t i = 0; i < buffers; ++i) {
    os.buffers.push_back(b.floats("optimizer buffers"));
    if (static_cast<std::int64_t>(os.buffers.back().size()) != c.network.parameter_count()) {
      b.fail("optimizer buffer " + std::to_string(i) + " holds " + std::to_string(os.buffers.back().size()) +
             " values for " + std::to_string(c.network.parameter_count()) + " parameters");
    }
  }

  TrainingProgress& p = c.progress;
  p.seed = b.u64("position");
  p.batch_size = b.i64("position");
  p.epochs = b.i64("position");
  p.examples_per_epoch = b.i64("position");
  p.epoch = b.i64("position");
  p.step = b.i64("position");
  p.loss_sum = b.f64("position");
  p.correct = b.i64("position");
  p.examples = b.i64("position");
  p.seconds = b.f64("position");
  if (version >= 2) {
    p.abs_error_sum = b.f64("regression sums");
    p.squared_error_sum = b.f64("regression sums");
    p.best_epoch = b.i64("best epoch");
    p.best_loss = b.f64("best epoch");
    p.best_parameters = b.floats("best parameters");
    const bool best_sane = p.best_epoch >= 0 && p.best_epoch < p.epoch && std::isfinite(p.best_loss) &&
                           (p.best_parameters.empty() ||
                            static_cast<std::int64_t>(p.best_parameters.size()) == c.network.parameter_count());
    if (!best_sane) b.fail("its best epoch (" + std::to_string(p.best_epoch) + ") or best parameters are inconsistent");
    for (float v : p.best_parameters) {
      if (!std::isfinite(v)) b.fail("a best parameter is not finite");
    }
  }
  // Written so that no value from the file can overflow the checks themselves.
  const bool sane = p.batch_size >= 1 && p.epochs >= 1 && p.examples_per_epoch >= 0 && p.epoch >= 1 &&
                    p.epoch - 1 <= p.epochs && p.step >= 0 && p.examples >= 0 && p.correct >= 0 &&
                    p.correct <= p.examples && p.examples <= p.examples_per_epoch &&
                    p.step <= p.examples_per_epoch / p.batch_size + (p.examples_per_epoch % p.batch_size != 0) &&
                    std::isfinite(p.loss_sum) && std::isfinite(p.seconds) && std::isfinite(p.abs_error_sum) &&
                    std::isfinite(p.squared_error_sum) && p.abs_error_sum >= 0.0 && p.squared_error_sum >= 0.0;
  if (!sane)
    b.fail("its training position is inconsistent (epoch " + std::to_string(p.epoch) + ", step " +
           std::to_string(p.step) + ")");
  if (b.left() != 0) b.fail(std::to_string(b.left()) + " unexpected bytes after the training position");
  return c;
}

}  // namespace tessera
