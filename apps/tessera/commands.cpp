// train, eval and predict, for IDX image folders and CSV tables alike.
#include "commands.hpp"

#include <fmt/format.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "model_files.hpp"
#include "presets.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "tabular.hpp"

namespace tessera_app {

std::string program = "tessera";

namespace {

std::string percent(double fraction) { return fmt::format("{:.2f}%", 100.0 * fraction); }

std::string architecture(const tessera::Graph& net) {
  std::string s;
  for (std::size_t i = 0; i < net.size(); ++i) s += (i ? ", " : "") + net.layer(i).name();
  return s;
}

std::string joined(const std::vector<std::string>& names, std::size_t most = 8) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < most; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > most) s += fmt::format(", ... ({} in all)", names.size());
  return s;
}

bool is_table(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// The loss a model file was trained with (cross-entropy for files that do not say).
LossKind loss_of(const tessera::LoadedModel& model) {
  const auto it = model.metadata.find("loss");
  return it == model.metadata.end() ? LossKind::CrossEntropy : loss_kind(it->second);
}

void require_fits(const tessera::Graph& net, const tessera::data::Dataset& data, const std::string& file) {
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

const Preset& preset_for(const std::string& data_kind, const std::string& model) {
  if (data_kind == "csv" && !is_description_file(model)) {
    if (model != "mlp") {
      throw std::invalid_argument("--model " + model + " takes images; a table (CSV) trains the mlp model");
    }
    return table_preset();
  }
  return preset(model);
}

// What a checkpoint of an earlier version (IDX only) did not record: its preset's own settings.
RunSettings idx_defaults(const std::string& name) {
  const Preset& p = preset(name);
  RunSettings s;
  s.data_kind = "idx";
  s.hidden = p.hidden;
  s.weight_decay = p.weight_decay;
  return s;
}

RunSettings settings_of(const TrainArgs& a) {
  RunSettings s;
  s.data_kind = is_table(a.data_dir) ? "csv" : "idx";
  s.model = a.model.value_or("mlp");
  const Preset& p = preset_for(s.data_kind, s.model);
  const bool csv = s.data_kind == "csv";
  if (!csv) {
    for (const auto& [given, option] :
         {std::pair{!a.targets.empty(), "--target"}, std::pair{a.task.has_value(), "--task"},
          std::pair{!a.test.empty(), "--test"}, std::pair{a.test_fraction.has_value(), "--test-fraction"}}) {
      if (given)
        throw std::invalid_argument(std::string(option) + " is for a table (--data FILE.csv), not an IDX folder");
    }
  }
  if (!a.test.empty() && a.test_fraction)
    throw std::invalid_argument("give --test FILE or --test-fraction F, not both");
  s.targets = a.targets;
  s.task = a.task.value_or("auto");
  s.hidden = a.hidden ? parse_widths(*a.hidden) : p.hidden;
  s.loss = a.loss.value_or("");
  if (!s.loss.empty()) loss_kind(s.loss);  // known
  s.epochs = a.epochs.value_or(p.epochs);
  s.batch_size = a.batch_size.value_or(p.batch_size);
  s.lr = a.lr.value_or(p.lr);
  s.optimizer = a.optimizer.value_or(p.optimizer);
  s.weight_decay = a.weight_decay.value_or(p.weight_decay);
  s.seed = a.seed.value_or(1);
  s.limit_train = a.limit_train.value_or(0);
  s.test_fraction = csv && a.test.empty() ? a.test_fraction.value_or(0.2) : 0.0;
  s.validation = a.validation.value_or(0.0);
  s.early_stopping = a.early_stopping.value_or(0);
  s.checkpoint_every = a.checkpoint_every.value_or(0);
  if (s.early_stopping > 0 && s.validation <= 0.0) {
    throw std::invalid_argument("--early-stopping needs a validation set: add --validation F (e.g. 0.1)");
  }
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

// The run's settings and, when it goes on from a checkpoint, that checkpoint and its file: --resume
// FILE (with any settings given equal to its), or --checkpoint FILE that already holds a run of
// exactly these settings (a preempted job run again). A checkpoint of other settings is an error
// naming each difference; it is never overwritten.
struct Start {
  RunSettings run;
  std::optional<tessera::Checkpoint> checkpoint;
  std::string from;
};

Start start_of(const TrainArgs& args) {
  Start s;
  if (!args.resume.empty()) {
    s.checkpoint = tessera::load_checkpoint(args.resume);
    s.run = settings_of(*s.checkpoint, args.resume, idx_defaults);
    s.from = args.resume;
    if (!args.run_settings_given.empty()) {
      const std::string diff = differences(s.run, settings_of(args), args.run_settings_given);
      if (!diff.empty()) {
        throw std::invalid_argument(args.resume + ": the checkpoint's run has other settings than given: " + diff +
                                    " (--resume continues the run with its own settings)");
      }
    }
  } else {
    s.run = settings_of(args);
    std::error_code ec;
    if (!args.checkpoint.empty() && std::filesystem::exists(args.checkpoint, ec)) {
      try {
        s.checkpoint = tessera::load_checkpoint(args.checkpoint);
      } catch (const tessera::ModelFileError& e) {
        throw std::invalid_argument(std::string(e.what()) +
                                    "; the file is left as it is: remove it or choose another " + "--checkpoint");
      }
      const RunSettings theirs = settings_of(*s.checkpoint, args.checkpoint, idx_defaults);
      const std::string diff = differences(theirs, s.run);
      if (!diff.empty()) {
        throw std::invalid_argument(args.checkpoint + " holds a run with other settings: " + diff +
                                    "; it is left as it is: remove it, choose another --checkpoint, or continue it "
                                    "with --resume");
      }
      s.from = args.checkpoint;
    }
  }
  if (args.checkpoint_every) s.run.checkpoint_every = *args.checkpoint_every;
  return s;
}

// The training data, whatever its kind: train (this process's part when sharded), test, validation.
struct TrainingData {
  tessera::data::Dataset train, test, validation;
  std::int64_t train_size = 0;  // over all processes
  std::optional<TableModel> table;
  std::string description;
};

TrainingData load_training_data(const TrainArgs& args, const RunSettings& run) {
  TrainingData d;
  const std::int64_t rank = args.processes ? args.processes->rank() : 0;
  const std::int64_t ranks = args.processes ? args.processes->size() : 1;
  if (run.data_kind == "csv") {
    // Every process reads the whole table (the same rows, splits and statistics), then keeps its part.
    TableData t = load_table(args.data_dir, args.test, run);
    d.table = TableModel{t.train.target_kind(), t.features, t.targets, t.classes};
    d.train = std::move(t.train);
    d.test = std::move(t.test);
    if (args.limit_test > 0) d.test = d.test.head(args.limit_test);
    const bool classes = d.table->task == tessera::TargetKind::Classes;
    d.description =
        fmt::format("{} rows of {} features ({}); test: {}", d.train.size(), d.train.example_size(), joined(t.features),
                    d.test.size() > 0 ? fmt::format("{} rows, {}", d.test.size(), t.test_source) : "none");
    d.description += classes ? fmt::format("; classification of '{}' into {} classes (sorted: {})", t.targets.front(),
                                           t.classes.size(), joined(t.classes))
                             : fmt::format("; regression of {}", joined(t.targets));
  } else {
    // Each process of a data-parallel run reads only its part of the training set.
    tessera::data::IdxPart part{rank, ranks, run.limit_train};
    if (run.validation > 0.0 && args.processes != nullptr) {
      throw std::invalid_argument(
          "--validation with IDX data under mpirun is not supported: each process reads only "
          "its part of the training set");
    }
    tessera::data::Split split = tessera::data::load_mnist(args.data_dir, part);
    d.train = std::move(split.train);
    d.test = std::move(split.test);
    if (args.limit_test > 0) d.test = d.test.head(args.limit_test);
  }
  if (run.validation > 0.0) {
    auto halves = d.train.split(run.validation, run.seed + 1);
    d.train = std::move(halves.first);
    d.validation = std::move(halves.second);
  }
  d.train_size = d.train.size();
  if (args.processes != nullptr && run.data_kind == "idx") {
    double total = static_cast<double>(d.train_size);
    args.processes->sum(&total, 1);
    d.train_size = static_cast<std::int64_t>(total);
  }
  if (run.data_kind == "idx") {
    d.description =
        fmt::format("{} training{} and {} test images of {}, {} classes", d.train_size,
                    args.processes ? fmt::format(" (each process reads its part: {} here)", d.train.size()) : "",
                    d.test.size(), d.train.example_shape().to_string(), d.train.classes());
  }
  if (d.validation.size() > 0) d.description += fmt::format("; validation: {} rows held out", d.validation.size());
  return d;
}

std::string test_summary(const tessera::Metrics& m, tessera::TargetKind task) {
  if (task == tessera::TargetKind::Classes)
    return fmt::format("Test accuracy {} (loss {:.4f})", percent(m.accuracy), m.loss);
  return fmt::format("Test RMSE {:.6g}, MAE {:.6g}, R² {:.4f} (loss {:.6g})", m.rmse, m.mae, m.r2, m.loss);
}

int train(const TrainArgs& args) {
  Start start = start_of(args);
  const RunSettings& run = start.run;
  const std::string checkpoint = !args.checkpoint.empty() ? args.checkpoint : args.resume;
  if (run.checkpoint_every > 0 && checkpoint.empty()) {
    throw std::invalid_argument("--checkpoint-every needs --checkpoint FILE");
  }
  const Preset& p = preset_for(run.data_kind, run.model);
  TrainingData data = load_training_data(args, run);
  const bool table = data.table.has_value();
  const tessera::TargetKind task = data.train.target_kind();
  const std::int64_t outputs = task == tessera::TargetKind::Classes ? data.train.classes() : data.train.target_width();

  tessera::Graph net = build_network(p, data.train.example_shape(), outputs, &run.hidden);
  // Standardize layers reading the data (the table preset's first, or any in a description) take the
  // training set's statistics.
  for (std::size_t i = 0; i < net.size(); ++i) {
    auto* standardize = dynamic_cast<tessera::Standardize*>(&net.layer(i));
    const auto inputs = net.node_inputs(net.layer_node(i));
    if (standardize != nullptr && net.node_layer(inputs[0]) == nullptr) standardize->fit(data.train);
  }
  net.initialize(run.seed, p.init);
  if (table && args.processes != nullptr) {
    // Statistics from the whole training set first, then this process's part of it.
    data.train = data.train.part({args.processes->rank(), args.processes->size(), 0});
  }
  const LossKind loss_kind_used = !run.loss.empty() ? loss_kind(run.loss)
                                  : table
                                      ? (task == tessera::TargetKind::Classes ? LossKind::CrossEntropy : LossKind::MSE)
                                      : p.loss;
  const auto loss = make_loss(loss_kind_used);

  tessera::TrainerOptions options;
  options.epochs = run.epochs;
  options.batch_size = run.batch_size;
  options.seed = run.seed;
  options.checkpoint = checkpoint;
  options.checkpoint_every = run.checkpoint_every;
  options.checkpoint_metadata = checkpoint_metadata(run);
  options.processes = args.processes;
  options.sharded_data = args.processes != nullptr;
  options.early_stopping = run.early_stopping;
  const bool writer = args.processes == nullptr || args.processes->rank() == 0;  // of metrics and models

  const std::int64_t steps_per_epoch = (data.train_size + options.batch_size - 1) / options.batch_size;
  const tessera::LRSchedule schedule =
      p.cosine ? tessera::LRSchedule::cosine(std::max<std::int64_t>(1, options.epochs * steps_per_epoch))
               : tessera::LRSchedule::constant();
  const auto optimizer = make_optimizer(run.optimizer, run.lr, schedule, net, run.weight_decay);

  std::ofstream metrics;
  if (!args.metrics.empty() && writer) {
    metrics = open_metrics(args.metrics, start.checkpoint.has_value(),
                           start.checkpoint ? start.checkpoint->progress.epoch : 1);
  }
  options.on_epoch = [&](const tessera::EpochStats& s) {
    if (metrics.is_open()) {
      metrics << metrics_json(s) << "\n" << std::flush;
      if (!metrics) throw std::runtime_error(args.metrics + ": writing the metrics file failed");
    }
  };

  fmt::print("Model {}: {} ({} parameters)\n", p.name, architecture(net), net.parameter_count());
  fmt::print("Data {}: {}\n", args.data_dir, data.description);
  fmt::print("Training {} epochs, batch {}, {}, loss {}, seed {}, {} thread{} (isa {}){}\n", options.epochs,
             options.batch_size, optimizer->name(), loss->name(), run.seed, tessera::max_threads(),
             tessera::max_threads() == 1 ? "" : "s", tessera::to_string(tessera::gemm_isa()),
             args.processes
                 ? fmt::format(" in each of {} processes, each batch split across them", args.processes->size())
                 : "");
  if (run.early_stopping > 0) {
    fmt::print(
        "Early stopping after {} epochs without a lower validation loss; the best epoch's parameters are "
        "kept\n",
        run.early_stopping);
  }
  if (!checkpoint.empty()) {
    fmt::print("Checkpoints to {} after each epoch{}\n", checkpoint,
               run.checkpoint_every > 0 ? fmt::format(" and every {} steps", run.checkpoint_every) : "");
  }

  if (args.profile) net.set_profiling(true);
  tessera::Trainer trainer(net, *loss, *optimizer, options);
  if (start.checkpoint) {
    trainer.resume(*start.checkpoint);
    const tessera::TrainingProgress& at = trainer.progress();
    const char* how = start.from == args.resume ? "Resuming from" : "Continuing the run in";
    if (at.epoch > at.epochs) {
      fmt::print("{} {}: its run of {} epochs is complete\n", how, start.from, at.epochs);
    } else {
      fmt::print("{} {}: epoch {}, after step {} of {}\n", how, start.from, at.epoch, at.step, steps_per_epoch);
    }
    start.checkpoint.reset();  // its copy of the network is no longer needed
  }
  std::fflush(stdout);
  const tessera::data::Dataset* validation = data.validation.size() > 0 ? &data.validation : nullptr;
  auto history = trainer.fit(data.train, &data.test, validation);
  const bool finished_before = history.empty();
  if (finished_before) {
    // Resumed after the last epoch: its evaluation again (deterministic) stands for the run's, and
    // the epoch it ended with (early stopping's, if it stopped early) for the model's metadata.
    tessera::EpochStats s;
    s.epoch = trainer.final_epoch();
    s.task = task;
    if (data.test.size() > 0) {
      s.test = tessera::Trainer::evaluate(net, *loss, data.test);
      s.evaluated = true;
    }
    history.push_back(s);
  }

  double seconds = 0.0;
  std::int64_t examples = 0;
  for (const auto& s : history) {
    seconds += s.seconds;
    examples += s.examples;
  }
  tessera::EpochStats last = history.back();
  // With early stopping the model is the best epoch's: its test figures are the run's.
  const std::int64_t best = trainer.progress().best_epoch;
  const bool restored = run.early_stopping > 0 && best > 0 && best != last.epoch;
  if (restored && last.evaluated) last.test = tessera::Trainer::evaluate(net, *loss, data.test);
  const std::string figures =
      last.evaluated ? test_summary(last.test, task) : fmt::format("Training loss {:.6g}", last.train.loss);
  // A run that had finished before (and may have stopped early) does not say after how many epochs.
  fmt::print("{} {}{}; training took {:.1f} s, {:.0f} examples/s\n", figures,
             finished_before ? "of the finished run" : fmt::format("after {} epochs", last.epoch),
             restored ? fmt::format(" (the parameters of epoch {})", best) : "", seconds,
             seconds > 0.0 ? static_cast<double>(examples) / seconds : 0.0);

  if (args.processes != nullptr) {
    fmt::print("Gradient sums across the processes: {:.2f} s of the {:.1f} s of training ({:.1f}%)\n",
               args.processes->seconds_in_sum(), seconds,
               seconds > 0.0 ? 100.0 * args.processes->seconds_in_sum() / seconds : 0.0);
  }
  if (!args.save.empty() && writer) {
    tessera::ModelMetadata m{{"preset", p.name},
                             {"loss", to_string(loss_kind_used)},
                             {"seed", std::to_string(run.seed)},
                             {"epochs", std::to_string(last.epoch)}};
    if (task == tessera::TargetKind::Classes)
      m["test_accuracy"] = std::to_string(last.test.accuracy);
    else
      m["test_r2"] = std::to_string(last.test.r2);
    if (table) record_table(m, *data.table);
    tessera::save_model(args.save, net, m);
    fmt::print("Saved the model to {}\n", args.save);
  }
  if (args.profile) {
    const auto profile = net.profile();
    print_profile(std::cout, profile, seconds, profile.empty() ? 0 : profile.front().backward_calls);
  }
  return 0;
}

int eval(const EvalArgs& args) {
  tessera::LoadedModel model = load_any_model(args.load);
  const auto loss = make_loss(loss_of(model));
  const std::optional<TableModel> table = table_of(model.metadata, args.load);
  fmt::print("Model {}: {}\n", args.load, architecture(model.network));
  if (table) {
    if (!is_table(args.data_dir)) {
      throw std::invalid_argument(args.load + " was trained on a table: give its test rows with --data FILE.csv");
    }
    const tessera::data::CsvData rows = read_for_model(args.data_dir, *table, true);
    const tessera::Evaluation e = tessera::Trainer::evaluate(model.network, *loss, rows.data);
    if (table->task == tessera::TargetKind::Classes) {
      fmt::print("{}: {} rows, loss {:.4f} ({}), accuracy {}\n", args.data_dir, e.examples, e.loss, loss->name(),
                 percent(e.accuracy));
      std::fflush(stdout);
      print_confusion(std::cout, e, table->classes);
    } else {
      fmt::print("{}: {} rows, loss {:.6g} ({}), RMSE {:.6g}, MAE {:.6g}, R² {:.4f}\n", args.data_dir, e.examples,
                 e.loss, loss->name(), e.rmse, e.mae, e.r2);
    }
    return 0;
  }
  if (is_table(args.data_dir)) {
    throw std::invalid_argument(args.load + " was trained on IDX images: give their folder with --data DIR");
  }
  const tessera::data::Split data = tessera::data::load_mnist(args.data_dir);
  require_fits(model.network, data.test, args.load);
  const tessera::Evaluation e = tessera::Trainer::evaluate(model.network, *loss, data.test);
  fmt::print("Test set: {} images, loss {:.4f} ({}), accuracy {}\n", e.examples, e.loss, loss->name(),
             percent(e.accuracy));
  std::fflush(stdout);
  print_confusion(std::cout, e);
  return 0;
}

int predict(const PredictArgs& args) {
  tessera::LoadedModel model = load_any_model(args.load);
  const std::optional<TableModel> table = table_of(model.metadata, args.load);
  if (table) {
    if (!is_table(args.data_dir)) {
      throw std::invalid_argument(args.load + " was trained on a table: give the rows with --data FILE.csv");
    }
    if (args.index) throw std::invalid_argument("--index is for IDX test images; a table's rows all get predictions");
    const tessera::data::CsvData rows = read_for_model(args.data_dir, *table, false);
    const auto it = model.metadata.find("loss");
    write_predictions(args.output, model.network, rows.data, *table, it == model.metadata.end() ? "" : it->second);
    if (!args.output.empty()) fmt::print("Wrote {} predictions to {}\n", rows.data.size(), args.output);
    return 0;
  }
  if (!args.index) throw std::invalid_argument("--index I is needed: which test image to draw and predict");
  if (is_table(args.data_dir)) {
    throw std::invalid_argument(args.load + " was trained on IDX images: give their folder with --data DIR");
  }
  const tessera::data::Split data = tessera::data::load_mnist(args.data_dir);
  const auto& test = data.test;
  require_fits(model.network, test, args.load);
  const std::int64_t index = *args.index;
  if (index < 0 || index >= test.size()) {
    throw std::invalid_argument("--index " + std::to_string(index) + " is outside the test set's 0.." +
                                std::to_string(test.size() - 1));
  }
  tessera::Tensor x(model.network.in_shape().with_batch(1));
  const std::int64_t order[1] = {index};
  std::int32_t label[1] = {0};
  test.gather(order, 0, x, label);
  model.network.eval();
  const tessera::Tensor& y = model.network.forward(x);

  const auto& shape = test.example_shape();
  const std::int64_t rows = shape.rank() >= 2 ? shape[0] : 1;
  print_digit(std::cout, test.image(index), rows, test.example_size() / rows);
  const bool cross_entropy = loss_of(model) == LossKind::CrossEntropy;
  const std::vector<double> scores =
      class_scores(y.data(), y.size(), static_cast<std::size_t>(y.size()), cross_entropy);
  std::int64_t best = 0;
  for (std::int64_t i = 1; i < y.size(); ++i) {
    if (y[i] > y[best]) best = i;
  }
  fmt::print("Test image {}: label {}, predicted {}\n{}:", index, label[0], best,
             cross_entropy ? "Probabilities" : "Outputs");
  for (std::size_t i = 0; i < scores.size(); ++i) fmt::print("  {}: {:.3f}", i, scores[i]);
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

int run_convert(const ConvertArgs& args) {
  tessera::LoadedModel model = load_any_model(args.in);
  save_any_model(args.out, model);
  fmt::print("Converted {} ({} layers, {} parameters) to {}\n", args.in, model.network.size(),
             model.network.parameter_count(), args.out);
  if (is_onnx(args.out) && !model.metadata.empty()) {
    fmt::print(
        "(the model file's metadata, such as its loss and data columns, has no place in ONNX and was left out)\n");
  }
  return 0;
}

int run_describe(const DescribeArgs& args) {
  if (is_description_file(args.model)) {
    // Checked, and written back as the library writes descriptions.
    const tessera::ModelDescription d = tessera::read_model_description(args.model);
    fmt::print("{}", tessera::describe_model(d.network, d.training, d.name, d.summary));
    return 0;
  }
  tessera::Shape example{28, 28};
  std::int64_t outputs = 10;
  const bool table = !args.data.empty() && is_table(args.data);
  if (table) {
    const tessera::data::Dataset d = tessera::data::read_csv(args.data, {}).data;
    example = d.example_shape();
    outputs = d.target_kind() == tessera::TargetKind::Classes ? d.classes() : d.target_width();
  } else if (!args.data.empty()) {
    const tessera::data::Split d = tessera::data::load_mnist(args.data);
    example = d.train.example_shape();
    outputs = d.train.classes();
  }
  const Preset& p = table && !is_description_file(args.model) ? preset_for("csv", args.model) : preset(args.model);
  fmt::print("{}", describe_preset(p, example, outputs));
  return 0;
}

}  // namespace tessera_app
