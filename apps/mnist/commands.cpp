// train, eval and predict.
#include "commands.hpp"

#include <fmt/format.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "presets.hpp"
#include "report.hpp"

namespace mnist_app {

namespace {

std::string percent(double fraction) { return fmt::format("{:.2f}%", 100.0 * fraction); }

std::string architecture(const tessera::Sequential& net) {
  std::string s;
  for (std::size_t i = 0; i < net.size(); ++i) s += (i ? ", " : "") + net.layer(i).name();
  return s;
}

// The loss a model file was trained with (cross-entropy for files that do not say).
LossKind loss_of(const tessera::LoadedModel& model) {
  const auto it = model.metadata.find("loss");
  return it == model.metadata.end() ? LossKind::CrossEntropy : loss_kind(it->second);
}

void require_fits(const tessera::Sequential& net, const tessera::data::Dataset& data, const std::string& file) {
  // An image model must also see the rows and columns it was trained on, not only as many pixels.
  const tessera::Shape& in = net.in_shape();
  const tessera::Shape& image = data.example_shape();
  const bool image_model = in.rank() == 3 && image.rank() == 2;
  if (image_model && (in[0] != image[0] || in[1] != image[1])) {
    throw std::invalid_argument(file + ": the model takes images of " + std::to_string(in[0]) + "×" +
                                std::to_string(in[1]) + " pixels, but the data's are " + std::to_string(image[0]) +
                                "×" + std::to_string(image[1]));
  }
  if (in.elements() != data.example_size() || net.out_shape()[0] < data.classes()) {
    throw std::invalid_argument(file + ": the model takes " + std::to_string(net.in_shape().elements()) +
                                " inputs and scores " + std::to_string(net.out_shape()[0]) +
                                " classes, but the data has " + std::to_string(data.example_size()) +
                                " pixels per image and " + std::to_string(data.classes()) + " classes");
  }
}

// Runs fn on exactly `threads` threads: a task arena of that size under a limit of the same, so that
// --threads 4 on two cores runs four (oversubscribed) as asked, and 1 runs one.
template <class F>
int on_threads(int threads, F&& fn) {
  tessera::ThreadLimit limit(threads);
  tbb::task_arena arena(threads);
  int status = 0;
  arena.execute([&] { status = fn(); });
  return status;
}

int threads_of(int asked) { return asked > 0 ? asked : default_threads(); }

// What fixes a run: a resumed run must have the same, so checkpoints record them.
struct RunSettings {
  std::string model;
  std::int64_t epochs = 0, batch_size = 0;
  float lr = 0.0f;
  std::string optimizer;
  std::uint64_t seed = 0;
  std::int64_t limit_train = 0;  // 0: all
  std::int64_t checkpoint_every = 0;
};

RunSettings settings_of(const TrainArgs& args) {
  const Preset& p = preset(args.model);
  return RunSettings{p.name,
                     args.epochs.value_or(p.epochs),
                     args.batch_size.value_or(p.batch_size),
                     args.lr.value_or(p.lr),
                     args.optimizer.value_or(p.optimizer),
                     args.seed,
                     args.limit_train,
                     args.checkpoint_every.value_or(0)};
}

tessera::ModelMetadata checkpoint_metadata(const RunSettings& s) {
  // fmt writes the shortest text that reads back as the same float.
  return {{"app", "tessera-mnist"},
          {"preset", s.model},
          {"epochs", std::to_string(s.epochs)},
          {"batch_size", std::to_string(s.batch_size)},
          {"lr", fmt::format("{}", s.lr)},
          {"optimizer", s.optimizer},
          {"seed", std::to_string(s.seed)},
          {"limit_train", std::to_string(s.limit_train)},
          {"checkpoint_every", std::to_string(s.checkpoint_every)}};
}

RunSettings settings_of(const tessera::Checkpoint& c, const std::string& file) {
  const auto get = [&](const std::string& key) -> const std::string& {
    const auto it = c.metadata.find(key);
    if (it == c.metadata.end()) {
      throw std::invalid_argument(file + ": not a checkpoint of tessera-mnist train (it does not record '" + key +
                                  "')");
    }
    return it->second;
  };
  const auto number = [&](const std::string& key) -> std::int64_t {
    const std::string& text = get(key);
    std::size_t used = 0;
    std::int64_t v = -1;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
    }
    if (used != text.size() || v < 0) throw std::invalid_argument(file + ": a bad " + key + " '" + text + "'");
    return v;
  };
  RunSettings s;
  s.model = get("preset");
  preset(s.model);  // known
  s.epochs = number("epochs");
  s.batch_size = number("batch_size");
  std::size_t used = 0;
  try {
    s.lr = std::stof(get("lr"), &used);
  } catch (const std::exception&) {
  }
  if (used != get("lr").size() || !(s.lr > 0.0f)) throw std::invalid_argument(file + ": a bad lr '" + get("lr") + "'");
  s.optimizer = get("optimizer");
  s.seed = static_cast<std::uint64_t>(number("seed"));
  s.limit_train = number("limit_train");
  s.checkpoint_every = number("checkpoint_every");
  return s;
}

// Opens the metrics file: new, or, resuming at `first_epoch`, keeping the lines of the epochs before
// it (a run killed after writing an epoch's line but before its checkpoint repeats that epoch). The
// kept lines replace the file by a rename, so that a kill at any moment leaves either the old file or
// the new one: truncating in place would lose them to a kill between the truncation and the write.
std::ofstream open_metrics(const std::string& file, bool resuming, std::int64_t first_epoch) {
  if (resuming) {
    std::string kept;
    std::ifstream old(file);
    for (std::string line; std::getline(old, line);) {
      long long epoch = 0;
      if (std::sscanf(line.c_str(), "{\"epoch\": %lld", &epoch) == 1 && epoch < first_epoch) kept += line + "\n";
    }
    const std::string temporary = file + ".resuming";
    std::ofstream out(temporary, std::ios::out | std::ios::trunc);
    out << kept << std::flush;
    if (!out) throw std::runtime_error(temporary + ": cannot write the metrics file");
    out.close();
    std::error_code error;
    std::filesystem::rename(temporary, file, error);
    if (error) throw std::runtime_error(file + ": cannot replace the metrics file: " + error.message());
  }
  std::ofstream out(file, resuming ? std::ios::out | std::ios::app : std::ios::out | std::ios::trunc);
  if (!out) throw std::runtime_error(file + ": cannot write the metrics file");
  return out;
}

int train(const TrainArgs& args) {
  std::optional<tessera::Checkpoint> resumed;
  if (!args.resume.empty()) {
    if (!args.run_settings_given.empty()) {
      std::string given;
      for (const auto& name : args.run_settings_given) given += (given.empty() ? "" : ", ") + name;
      throw std::invalid_argument("--resume continues the checkpoint's run with its own settings: drop " + given);
    }
    resumed = tessera::load_checkpoint(args.resume);
  }
  RunSettings run = resumed ? settings_of(*resumed, args.resume) : settings_of(args);
  if (args.checkpoint_every) run.checkpoint_every = *args.checkpoint_every;
  const std::string checkpoint = !args.checkpoint.empty() ? args.checkpoint : args.resume;
  if (run.checkpoint_every > 0 && checkpoint.empty()) {
    throw std::invalid_argument("--checkpoint-every needs --checkpoint FILE");
  }
  const Preset& p = preset(run.model);

  // Each process of a data-parallel run reads only its part of the training set.
  tessera::data::IdxPart part{0, 1, run.limit_train};
  if (args.processes != nullptr) part = {args.processes->rank(), args.processes->size(), run.limit_train};
  tessera::data::Split data = tessera::data::load_mnist(args.data_dir, part);
  std::int64_t train_size = data.train.size();
  if (args.processes != nullptr) {
    double total = static_cast<double>(train_size);
    args.processes->sum(&total, 1);
    train_size = static_cast<std::int64_t>(total);
  }
  if (args.limit_test > 0) data.test = data.test.head(args.limit_test);

  tessera::TrainerOptions options;
  options.epochs = run.epochs;
  options.batch_size = run.batch_size;
  options.seed = run.seed;
  options.checkpoint = checkpoint;
  options.checkpoint_every = run.checkpoint_every;
  options.checkpoint_metadata = checkpoint_metadata(run);
  options.processes = args.processes;
  options.sharded_data = args.processes != nullptr;
  const bool writer = args.processes == nullptr || args.processes->rank() == 0;  // of metrics and models

  tessera::Sequential net = build_network(p, data.train.example_shape(), data.train.classes());
  net.initialize(run.seed, p.init);
  const auto loss = make_loss(p.loss);
  const std::int64_t steps_per_epoch = (train_size + options.batch_size - 1) / options.batch_size;
  const tessera::LRSchedule schedule =
      p.cosine ? tessera::LRSchedule::cosine(std::max<std::int64_t>(1, options.epochs * steps_per_epoch))
               : tessera::LRSchedule::constant();
  const auto optimizer = make_optimizer(run.optimizer, run.lr, schedule, net);

  std::ofstream metrics;
  if (!args.metrics.empty() && writer) {
    metrics = open_metrics(args.metrics, resumed.has_value(), resumed ? resumed->progress.epoch : 1);
  }
  options.on_epoch = [&](const tessera::EpochStats& s) {
    if (metrics.is_open()) {
      metrics << metrics_json(s) << "\n" << std::flush;
      if (!metrics) throw std::runtime_error(args.metrics + ": writing the metrics file failed");
    }
  };

  fmt::print("Model {}: {} ({} parameters)\n", p.name, architecture(net), net.parameter_count());
  fmt::print("Data {}: {} training{} and {} test images of {}, {} classes\n", args.data_dir, train_size,
             args.processes ? fmt::format(" (each process reads its part: {} here)", data.train.size()) : "",
             data.test.size(), data.train.example_shape().to_string(), data.train.classes());
  fmt::print("Training {} epochs, batch {}, {}, loss {}, seed {}, {} thread{} (isa {}){}\n", options.epochs,
             options.batch_size, optimizer->name(), loss->name(), run.seed, tessera::max_threads(),
             tessera::max_threads() == 1 ? "" : "s", tessera::to_string(tessera::gemm_isa()),
             args.processes
                 ? fmt::format(" in each of {} processes, each batch split across them", args.processes->size())
                 : "");
  if (!checkpoint.empty()) {
    fmt::print("Checkpoints to {} after each epoch{}\n", checkpoint,
               run.checkpoint_every > 0 ? fmt::format(" and every {} steps", run.checkpoint_every) : "");
  }

  if (args.profile) net.set_profiling(true);
  tessera::Trainer trainer(net, *loss, *optimizer, options);
  if (resumed) {
    trainer.resume(*resumed);
    const tessera::TrainingProgress& at = trainer.progress();
    if (at.epoch > at.epochs) {
      fmt::print("Resuming from {}: its run of {} epochs is complete\n", args.resume, at.epochs);
    } else {
      fmt::print("Resuming from {}: epoch {}, after step {} of {}\n", args.resume, at.epoch, at.step, steps_per_epoch);
    }
    resumed.reset();  // its copy of the network is no longer needed
  }
  std::fflush(stdout);
  auto history = trainer.fit(data.train, &data.test);
  if (history.empty()) {
    // Resumed after the last epoch: its evaluation again (deterministic) stands for the run's.
    tessera::EpochStats s;
    s.epoch = run.epochs;
    const tessera::Evaluation e = tessera::Trainer::evaluate(net, *loss, data.test);
    s.test.loss = e.loss;
    s.test.accuracy = e.accuracy;
    history.push_back(s);
  }

  double seconds = 0.0;
  std::int64_t examples = 0;
  for (const auto& s : history) {
    seconds += s.seconds;
    examples += s.examples;
  }
  const auto& last = history.back();
  fmt::print("Test accuracy {} (loss {:.4f}) after {} epochs; training took {:.1f} s, {:.0f} examples/s\n",
             percent(last.test.accuracy), last.test.loss, last.epoch, seconds,
             seconds > 0.0 ? static_cast<double>(examples) / seconds : 0.0);

  if (args.processes != nullptr) {
    fmt::print("Gradient sums across the processes: {:.2f} s of the {:.1f} s of training ({:.1f}%)\n",
               args.processes->seconds_in_sum(), seconds,
               seconds > 0.0 ? 100.0 * args.processes->seconds_in_sum() / seconds : 0.0);
  }
  if (!args.save.empty() && writer) {
    tessera::save_model(args.save, net,
                        {{"preset", p.name},
                         {"loss", to_string(p.loss)},
                         {"seed", std::to_string(run.seed)},
                         {"epochs", std::to_string(last.epoch)},
                         {"test_accuracy", std::to_string(last.test.accuracy)}});
    fmt::print("Saved the model to {}\n", args.save);
  }
  if (args.profile) {
    const auto profile = net.profile();
    print_profile(std::cout, profile, seconds, profile.empty() ? 0 : profile.front().backward_calls);
  }
  return 0;
}

int eval(const EvalArgs& args) {
  tessera::LoadedModel model = tessera::load_model(args.load);
  const tessera::data::Split data = tessera::data::load_mnist(args.data_dir);
  require_fits(model.network, data.test, args.load);
  const auto loss = make_loss(loss_of(model));
  const tessera::Evaluation e = tessera::Trainer::evaluate(model.network, *loss, data.test);
  fmt::print("Model {}: {}\n", args.load, architecture(model.network));
  fmt::print("Test set: {} images, loss {:.4f} ({}), accuracy {}\n", e.examples, e.loss, loss->name(),
             percent(e.accuracy));
  std::fflush(stdout);
  print_confusion(std::cout, e);
  return 0;
}

int predict(const PredictArgs& args) {
  tessera::LoadedModel model = tessera::load_model(args.load);
  const tessera::data::Split data = tessera::data::load_mnist(args.data_dir);
  const auto& test = data.test;
  require_fits(model.network, test, args.load);
  if (args.index < 0 || args.index >= test.size()) {
    throw std::invalid_argument("--index " + std::to_string(args.index) + " is outside the test set's 0.." +
                                std::to_string(test.size() - 1));
  }
  tessera::Tensor x(model.network.in_shape().with_batch(1));
  const std::int64_t order[1] = {args.index};
  std::int32_t label[1] = {0};
  test.gather(order, 0, x, label);
  model.network.eval();
  const tessera::Tensor& y = model.network.forward(x);

  const auto& shape = test.example_shape();
  const std::int64_t rows = shape.rank() >= 2 ? shape[0] : 1;
  print_digit(std::cout, test.image(args.index), rows, test.example_size() / rows);
  const bool cross_entropy = loss_of(model) == LossKind::CrossEntropy;
  std::vector<double> scores(static_cast<std::size_t>(y.size()));
  double top = static_cast<double>(y[0]), sum = 0.0;
  for (std::int64_t i = 1; i < y.size(); ++i) top = std::max(top, static_cast<double>(y[i]));
  for (std::int64_t i = 0; i < y.size(); ++i) {
    const double v = static_cast<double>(y[i]);
    scores[static_cast<std::size_t>(i)] = cross_entropy ? std::exp(v - top) : v;
    sum += scores[static_cast<std::size_t>(i)];
  }
  std::int64_t best = 0;
  for (std::int64_t i = 1; i < y.size(); ++i) {
    if (y[i] > y[best]) best = i;
  }
  fmt::print("Test image {}: label {}, predicted {}\n{}:", args.index, label[0], best,
             cross_entropy ? "Probabilities" : "Outputs");
  for (std::size_t i = 0; i < scores.size(); ++i)
    fmt::print("  {}: {:.3f}", i, cross_entropy ? scores[i] / sum : scores[i]);
  fmt::print("\n");
  return 0;
}

}  // namespace

int run_train(const TrainArgs& args) {
  return on_threads(threads_of(args.threads), [&] { return train(args); });
}

int run_eval(const EvalArgs& args) {
  return on_threads(threads_of(args.threads), [&] { return eval(args); });
}

int run_predict(const PredictArgs& args) {
  return on_threads(threads_of(args.threads), [&] { return predict(args); });
}

}  // namespace mnist_app
