// The presets: "seed" is the original Python program made fast, "mlp" the modern default, "cnn" the
// convolutional one, "resnet" a small residual network with batch normalisation; on a table, mlp
// becomes the table preset.
#include "presets.hpp"

#include <tbb/info.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace tessera_app {

namespace {

// Appends the Dense layers of widths `hidden` to `net`, whose output (or input) has `inputs` values.
tessera::Sequential dense_network(const Preset& p, tessera::Sequential net, std::int64_t inputs, std::int64_t classes,
                                  const std::vector<std::int64_t>& hidden) {
  std::int64_t width = inputs;
  for (std::int64_t h : hidden) {
    net.add(tessera::Dense(width, h));
    net.add(tessera::make_activation(p.activation));
    width = h;
  }
  net.add(tessera::Dense(width, classes));
  if (p.activate_output) net.add(tessera::make_activation(p.activation));
  return net;
}

const std::vector<Preset>& presets() {
  // Designated initialisers keep each setting next to its name.
  static const std::vector<Preset> all{
      {.name = "seed",
       .description = "784-100-50-10, sigmoid after every layer, MSE, SGD: the original program",
       .hidden = {100, 50},
       .activation = tessera::Activation::Sigmoid,
       .activate_output = true,
       .loss = LossKind::MSE,
       .init = tessera::Init::XavierUniform,
       .optimizer = "sgd",
       .lr = 20.0f,  // MSE averaged over outputs gives small gradients; 30 learns faster, 60 diverges
       .cosine = false,
       .batch_size = 128,
       .epochs = 10},
      {.name = "mlp",
       .description = "784-512-256-10, ReLU, softmax cross-entropy, Adam with a cosine decay",
       .hidden = {512, 256},
       .activation = tessera::Activation::ReLU,
       .activate_output = false,
       .loss = LossKind::CrossEntropy,
       .init = tessera::Init::He,
       .optimizer = "adam",
       .lr = 1e-3f,
       .cosine = true,
       .batch_size = 128,
       .epochs = 10},
      {.name = "cnn",
       .description = "conv 5×5×32, pool, conv 5×5×64, pool, 1024-128-10, ReLU, softmax cross-entropy, Adam",
       .hidden = {128},
       .activation = tessera::Activation::ReLU,
       .activate_output = false,
       .loss = LossKind::CrossEntropy,
       .init = tessera::Init::He,
       .optimizer = "adam",
       .lr = 1e-3f,
       .cosine = true,
       .batch_size = 128,
       .epochs = 10,
       .convolutional = true},
      {.name = "resnet",
       .description = "conv 3×3×16, BN, ReLU; residual blocks of 16, 32, 64 channels at 28², 14², 7²; global "
                      "average pool; 64-10; softmax cross-entropy, Adam",
       .hidden = {},
       .activation = tessera::Activation::ReLU,
       .activate_output = false,
       .loss = LossKind::CrossEntropy,
       .init = tessera::Init::He,
       .optimizer = "adam",
       .lr = 1e-3f,
       .cosine = true,
       .batch_size = 128,
       .epochs = 5,
       .residual = true},
  };
  return all;
}

// A basic residual block: conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the skip (a strided 1×1 conv →
// BN where the block halves the image or changes the channels), then ReLU.
tessera::Node residual_block(tessera::Graph& g, tessera::Node x, std::int64_t in, std::int64_t out, std::int64_t stride,
                             const std::string& name) {
  tessera::Node r = g.add(tessera::Conv2D(in, out, 3, stride, 1), x, name + ".conv1");
  r = g.add(tessera::BatchNorm(out), r, name + ".bn1");
  r = g.add(tessera::ReLU(), r, name + ".relu1");
  r = g.add(tessera::Conv2D(out, out, 3, 1, 1), r, name + ".conv2");
  r = g.add(tessera::BatchNorm(out), r, name + ".bn2");
  tessera::Node skip = x;
  if (stride != 1 || in != out) {
    skip = g.add(tessera::Conv2D(in, out, 1, stride, 0), x, name + ".skip");
    skip = g.add(tessera::BatchNorm(out), skip, name + ".skip_bn");
  }
  const tessera::Node sum = g.add(tessera::Add(), {r, skip}, name + ".add");
  return g.add(tessera::ReLU(), sum, name + ".relu2");
}

tessera::Graph residual_network(const tessera::Shape& image, std::int64_t classes) {
  tessera::Graph g;
  tessera::Node h = g.input(image, "image");
  h = g.add(tessera::Conv2D(image[2], 16, 3, 1, 1), h, "stem.conv");
  h = g.add(tessera::BatchNorm(16), h, "stem.bn");
  h = g.add(tessera::ReLU(), h, "stem.relu");
  std::int64_t channels = 16;
  int stage = 1;
  for (std::int64_t out : {16, 32, 64}) {
    h = residual_block(g, h, channels, out, out == channels ? 1 : 2, "stage" + std::to_string(stage++));
    channels = out;
  }
  h = g.add(tessera::GlobalAvgPool2D(), h, "pool");
  g.add(tessera::Dense(channels, classes), h, "logits");
  return g;
}

}  // namespace

const Preset& table_preset() {
  // Measured on the committed tables (iris, wine, breast cancer, diabetes; 80/20 splits of three
  // seeds): weight decay of this strength keeps the 64-32 network from overfitting a few hundred rows
  // (it bounds each weight near 1/wd under Adam), and costs nothing on larger tables.
  static const Preset table{
      .name = "mlp",
      .description = "Standardize, 64-32 ReLU, Adam (lr 3e-3, weight decay 0.5) with cosine decay",
      .hidden = {64, 32},
      .activation = tessera::Activation::ReLU,
      .activate_output = false,
      .loss = LossKind::CrossEntropy,  // MSE for regression
      .init = tessera::Init::He,
      .optimizer = "adam",
      .lr = 3e-3f,
      .cosine = true,
      .batch_size = 32,
      .epochs = 100,
      .weight_decay = 0.5f,
      .standardize = true};
  return table;
}

bool is_description_file(const std::string& model) {
  return model.size() > 5 && model.compare(model.size() - 5, 5, ".json") == 0;
}

namespace {
// The mlp preset's settings, replaced by those the description's recipe gives.
Preset description_preset(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw tessera::DescriptionError(file + ": cannot open the model description");
  std::ostringstream text;
  text << in.rdbuf();
  const tessera::ModelDescription d = tessera::parse_model_description(text.str(), file);
  Preset p = preset("mlp");
  p.name = file;
  p.description = d.summary.empty() ? "the model described in " + file : d.summary;
  p.hidden = {};
  const tessera::TrainingRecipe& r = d.training;
  if (r.loss) p.loss = loss_kind(*r.loss);
  if (r.optimizer) p.optimizer = *r.optimizer;
  if (r.learning_rate) p.lr = static_cast<float>(*r.learning_rate);
  if (r.schedule) p.cosine = *r.schedule == "cosine";
  if (r.weight_decay) p.weight_decay = static_cast<float>(*r.weight_decay);
  if (r.init) {
    p.init = *r.init == "he"       ? tessera::Init::He
             : *r.init == "normal" ? tessera::Init::Normal
                                   : tessera::Init::XavierUniform;
  }
  if (r.batch_size) p.batch_size = *r.batch_size;
  if (r.epochs) p.epochs = *r.epochs;
  p.description_text = text.str();
  p.description_file = file;
  return p;
}

std::string init_name(tessera::Init init) {
  switch (init) {
    case tessera::Init::He:
      return "he";
    case tessera::Init::Normal:
      return "normal";
    case tessera::Init::XavierUniform:
      break;
  }
  return "xavier_uniform";
}
}  // namespace

std::string describe_preset(const Preset& p, const tessera::Shape& example, std::int64_t outputs) {
  tessera::TrainingRecipe r;
  r.loss = to_string(p.loss);
  r.optimizer = p.optimizer;
  r.learning_rate = static_cast<double>(p.lr);
  r.schedule = p.cosine ? "cosine" : "constant";
  if (p.weight_decay > 0.0f) r.weight_decay = static_cast<double>(p.weight_decay);
  r.init = init_name(p.init);
  r.batch_size = p.batch_size;
  r.epochs = p.epochs;
  const tessera::Graph net = build_network(p, example, outputs);
  return tessera::describe_model(net, r, p.name, p.description);
}

const Preset& preset(const std::string& name) {
  for (const auto& p : presets()) {
    if (p.name == name) return p;
  }
  if (is_description_file(name)) {
    // Kept for the program's life: callers hold references, and a file is read once.
    static std::map<std::string, Preset> described;
    const auto it = described.find(name);
    if (it != described.end()) return it->second;
    return described.emplace(name, description_preset(name)).first->second;
  }
  throw std::invalid_argument("unknown model '" + name +
                              "' (seed, mlp, cnn, resnet, or a model description FILE.json)");
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& p : presets()) names.push_back(p.name);
  return names;
}

tessera::Graph build_network(const Preset& p, const tessera::Shape& example, std::int64_t classes,
                             const std::vector<std::int64_t>* widths) {
  const std::vector<std::int64_t>& hidden = widths != nullptr ? *widths : p.hidden;
  if (!p.description_text.empty()) {
    if (widths != nullptr && !widths->empty()) {
      throw std::invalid_argument("--hidden does not apply to a model description (" + p.description_file +
                                  "): change its layers");
    }
    return tessera::parse_model_description(p.description_text, p.description_file).network;
  }
  if (p.standardize) {
    tessera::Sequential net;
    net.add(tessera::Standardize(example.elements()));
    return dense_network(p, std::move(net), example.elements(), classes, hidden);
  }
  if (p.residual || p.convolutional) {
    if (example.rank() != 2 && !(example.rank() == 3 && p.residual)) {
      throw std::invalid_argument("the " + p.name + " model takes [rows, cols] images, got examples of shape " +
                                  example.to_string());
    }
  }
  if (p.residual) {
    const std::int64_t channels = example.rank() == 3 ? example[2] : 1;
    return residual_network(tessera::Shape{example[0], example[1], channels}, classes);
  }
  if (!p.convolutional) return dense_network(p, tessera::Sequential(), example.elements(), classes, hidden);
  tessera::Sequential net(tessera::Shape{example[0], example[1], 1});
  std::int64_t channels = 1;
  for (std::int64_t out : {32, 64}) {
    net.add(tessera::Conv2D(channels, out, 5));
    net.add(tessera::make_activation(p.activation));
    net.add(tessera::MaxPool2D(2));
    channels = out;
  }
  net.add(tessera::Flatten());
  const std::int64_t features = net.out_shape().elements();
  return dense_network(p, std::move(net), features, classes, hidden);
}

std::unique_ptr<tessera::Loss> make_loss(LossKind kind) {
  switch (kind) {
    case LossKind::MSE:
      return std::make_unique<tessera::MSE>();
    case LossKind::L1:
      return std::make_unique<tessera::L1>();
    case LossKind::Huber:
      return std::make_unique<tessera::Huber>(1.0f);
    case LossKind::BinaryCrossEntropy:
      return std::make_unique<tessera::BinaryCrossEntropyWithLogits>();
    case LossKind::CrossEntropy:
      break;
  }
  return std::make_unique<tessera::SoftmaxCrossEntropy>();
}

std::unique_ptr<tessera::Optimizer> make_optimizer(const std::string& name, float lr,
                                                   const tessera::LRSchedule& schedule, tessera::Graph& net,
                                                   float weight_decay) {
  if (name == "sgd") {
    return std::make_unique<tessera::SGD>(net, tessera::SGDOptions(lr).weight_decay(weight_decay).schedule(schedule));
  }
  if (name == "momentum") {
    return std::make_unique<tessera::SGD>(
        net, tessera::SGDOptions(lr).momentum(0.9f).weight_decay(weight_decay).schedule(schedule));
  }
  if (name == "adam") {
    return std::make_unique<tessera::Adam>(net, tessera::AdamOptions(lr).weight_decay(weight_decay).schedule(schedule));
  }
  throw std::invalid_argument("unknown optimizer '" + name + "' (sgd, momentum or adam)");
}

namespace {
constexpr std::pair<LossKind, const char*> kLossNames[] = {{LossKind::MSE, "mse"},
                                                           {LossKind::CrossEntropy, "cross_entropy"},
                                                           {LossKind::L1, "l1"},
                                                           {LossKind::Huber, "huber"},
                                                           {LossKind::BinaryCrossEntropy, "bce"}};
}  // namespace

std::string to_string(LossKind kind) {
  for (const auto& [k, name] : kLossNames) {
    if (k == kind) return name;
  }
  return "cross_entropy";
}

LossKind loss_kind(const std::string& name) {
  for (const auto& [k, n] : kLossNames) {
    if (n == name) return k;
  }
  throw std::invalid_argument("unknown loss '" + name + "' (mse, cross_entropy, l1, huber or bce)");
}

std::vector<std::string> loss_names() {
  std::vector<std::string> names;
  for (const auto& [k, n] : kLossNames) names.emplace_back(n);
  return names;
}

std::string default_data_dir() {
  if (const char* dir = std::getenv("TESSERA_DATA"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.cache/tessera/mnist";
}

int default_threads() {
  if (const char* v = std::getenv("TESSERA_NUM_THREADS"); v != nullptr && *v != '\0') {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 4096) {
      throw std::invalid_argument(std::string("TESSERA_NUM_THREADS must be a whole number from 1 to 4096, got '") + v +
                                  "'");
    }
    return static_cast<int>(n);
  }
  // Several processes of an MPI job on this machine share its cores.
  int local_processes = 1;
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    if (const char* v = std::getenv(name); v != nullptr && std::atoi(v) > 0) {
      local_processes = std::atoi(v);
      break;
    }
  }
  return std::max(1, tbb::info::default_concurrency() / local_processes);
}

}  // namespace tessera_app
