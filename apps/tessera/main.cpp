// tessera (and tessera-mnist, the same program under the MNIST demo's name): trains, evaluates and
// queries models on CSV tables and on IDX image folders. Every failure is one line on stderr and exit
// status 2.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "commands.hpp"
#include "presets.hpp"

#ifdef TESSERA_APP_MPI
#include <optional>

#include "tessera/distributed.hpp"
#endif

int main(int argc, char** argv) {
  using namespace tessera_app;
  program = std::filesystem::path(argv[0]).filename().string();
#ifdef TESSERA_APP_MPI
  // Started by mpirun (or srun): every process runs this program, train splits each batch across them,
  // and only rank 0 prints (stderr stays open everywhere, for errors).
  std::optional<tessera::distributed::Session> mpi;
  std::optional<tessera::distributed::MpiProcessGroup> world;
  if (tessera::distributed::Session::launched_by_mpi()) {
    mpi.emplace(&argc, &argv);
    world.emplace();
    if (world->rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 2;
  }
#endif
  CLI::App app{program + ": train and evaluate neural networks with Tessera on CSV tables or IDX image folders"};
  app.require_subcommand(1);
  const std::string data_help =
      "a CSV file (a table: one row per example), or a folder of IDX files (default: $TESSERA_DATA or "
      "~/.cache/tessera/mnist)";
  const std::string threads_help = "threads to use (default: $TESSERA_NUM_THREADS or every core)";

  // A preset's name or a description file.
  const CLI::Validator model_check(
      [](std::string& value) -> std::string {
        for (const auto& name : preset_names()) {
          if (value == name) return {};
        }
        if (is_description_file(value)) return {};
        std::string names;
        for (const auto& name : preset_names()) names += (names.empty() ? "" : ", ") + name;
        return "'" + value + "' is no preset (" + names + ") nor a model description (a FILE.json)";
      },
      "PRESET|FILE.json");

  TrainArgs train;
  train.data_dir = default_data_dir();
  auto* t = app.add_subcommand("train", "train a model and evaluate it on the test set after each epoch");
  t->add_option("--data", train.data_dir, data_help);
  t->add_option("--target", train.targets,
                "table: the target column, by name (give it again for several; default: the last column)");
  t->add_option("--test", train.test, "table: a CSV file of test rows (default: --test-fraction of the data)");
  t->add_option("--test-fraction", train.test_fraction, "table: the share of rows held out for testing (default 0.2)")
      ->check(CLI::Range(0.0, 0.95));
  t->add_option("--validation", train.validation,
                "the share of training rows held out for validation, evaluated after each epoch")
      ->check(CLI::Range(0.0, 0.95));
  t->add_option("--task", train.task,
                "table: classification or regression (default: classification when the target holds text or whole "
                "numbers, regression otherwise)")
      ->check(CLI::IsMember({"auto", "classification", "regression"}));
  t->add_option(
       "--model", train.model,
       "preset: seed (the original 784-100-50-10 sigmoid/MSE network), mlp (784-512-256-10 ReLU; on a table, "
       "Standardize then ReLU layers of --hidden widths), cnn (two convolutions and pooling, then 1024-128-10), "
       "resnet (three residual stages of 16, 32, 64 channels with batch norm), or a model description FILE.json "
       "(see: describe)")
      ->check(model_check);
  t->add_option("--hidden", train.hidden, "widths of the hidden layers, e.g. 64,32 (default: the preset's)");
  t->add_option("--loss", train.loss,
                "cross_entropy, mse, l1, huber or bce (default: cross_entropy for classes, mse for values; the "
                "preset's for IDX)")
      ->check(CLI::IsMember(loss_names()));
  t->add_option("--epochs", train.epochs, "epochs (default: the preset's)")->check(CLI::Range(1, 100000));
  t->add_option("--batch-size", train.batch_size, "examples per step (default: the preset's)")
      ->check(CLI::Range(1, 1 << 20));
  t->add_option("--lr", train.lr, "learning rate (default: the preset's)")->check(CLI::PositiveNumber);
  t->add_option("--optimizer", train.optimizer, "sgd, momentum or adam (default: the preset's)")
      ->check(CLI::IsMember({"sgd", "momentum", "adam"}));
  t->add_option("--weight-decay", train.weight_decay, "weight decay (decoupled for adam; default: the preset's)")
      ->check(CLI::Range(0.0, 100.0));
  t->add_option("--early-stopping", train.early_stopping,
                "stop after N epochs without a lower validation loss, keeping the best epoch (needs --validation)")
      ->check(CLI::Range(1, 100000));
  t->add_option("--threads", train.threads, threads_help)->check(CLI::Range(1, 4096));
  t->add_option("--seed", train.seed, "seed of the initial weights, the shuffles and the splits (default 1)");
  t->add_option("--save", train.save, "write the trained model to this file");
  t->add_option("--metrics", train.metrics, "write one JSON line per epoch to this file");
  t->add_option("--limit-train", train.limit_train, "train on the first N examples only")->check(CLI::PositiveNumber);
  t->add_option("--limit-test", train.limit_test, "test on the first N examples only")->check(CLI::PositiveNumber);
  t->add_flag("--profile", train.profile, "print where the time of a step goes, layer by layer");
  t->add_option("--checkpoint", train.checkpoint,
                "write a checkpoint (model, optimizer state, position) to this file after each epoch, atomically; "
                "when it already holds an unfinished run of the same settings, continue that run");
  t->add_option("--checkpoint-every", train.checkpoint_every, "also every N steps (needs --checkpoint)")
      ->check(CLI::PositiveNumber);
  t->add_option("--resume", train.resume,
                "continue the run a checkpoint file was written by, with its settings (any given must equal them); "
                "it goes on checkpointing to that file unless --checkpoint says otherwise");

  EvalArgs eval;
  eval.data_dir = default_data_dir();
  auto* e = app.add_subcommand("eval", "loss and accuracy (or RMSE, MAE, R²) of a saved model on test data");
  e->add_option("--load", eval.load, "model file (Tessera's, or FILE.onnx)")->required();
  e->add_option("--data", eval.data_dir, "a CSV file of rows with their targets, or an IDX folder (its test set)");
  e->add_option("--threads", eval.threads, threads_help)->check(CLI::Range(1, 4096));

  PredictArgs predict;
  predict.data_dir = default_data_dir();
  auto* p = app.add_subcommand("predict", "a saved model's predictions: for every row of a CSV, or one test image");
  p->add_option("--load", predict.load, "model file (Tessera's, or FILE.onnx)")->required();
  p->add_option("--data", predict.data_dir, "a CSV file of rows (the target column may be absent), or an IDX folder");
  p->add_option("--output", predict.output, "table: write the predictions to this CSV file (default: standard output)");
  p->add_option("--index", predict.index, "IDX: the test image to draw and predict");
  p->add_option("--threads", predict.threads, threads_help)->check(CLI::Range(1, 4096));

  ConvertArgs convert;
  auto* c =
      app.add_subcommand("convert", "convert a model between Tessera's file format and ONNX (by extension: .onnx)");
  c->add_option("in", convert.in, "the model to read")->required();
  c->add_option("out", convert.out, "the file to write (written atomically)")->required();

  DescribeArgs describe;
  auto* d = app.add_subcommand("describe",
                               "print a preset (or check and print a description file) as a model description, "
                               "JSON that train --model FILE.json takes");
  d->add_option("--model", describe.model, "preset or FILE.json (default: mlp)")->check(model_check);
  d->add_option("--data", describe.data,
                "shape the network for this CSV file or IDX folder (default: MNIST's 28×28 images, 10 classes)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& s) {
    return app.exit(s);
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "{}: error: {} (see --help)\n", program, error.what());
    return 2;
  }
  for (const char* name :
       {"--model", "--epochs", "--batch-size", "--lr", "--optimizer", "--seed", "--limit-train", "--weight-decay",
        "--hidden", "--loss", "--validation", "--early-stopping", "--target", "--task", "--test-fraction"}) {
    if (t->get_option(name)->count() > 0) train.run_settings_given.emplace_back(name);
  }
#ifdef TESSERA_APP_MPI
  if (world && world->size() > 1) train.processes = &*world;
#endif
  try {
    if (t->parsed()) return run_train(train);
    if (e->parsed()) return run_eval(eval);
    if (d->parsed()) return run_describe(describe);
    if (c->parsed()) return run_convert(convert);
    return run_predict(predict);
  } catch (const std::exception& error) {
    std::fflush(stdout);
#ifdef TESSERA_APP_MPI
    // One process failing must stop them all, not leave the others waiting in a gradient sum.
    if (train.processes != nullptr) world->abort(program + ": error: " + error.what(), 2);
#endif
    fmt::print(stderr, "\n{}: error: {}\n", program, error.what());
    return 2;
  }
}
