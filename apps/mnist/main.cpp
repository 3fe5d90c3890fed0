// tessera-mnist: trains, evaluates and queries MNIST models (or any IDX data set of the same form).
// Every failure is one line on stderr and exit status 2.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "presets.hpp"

#ifdef TESSERA_MNIST_MPI
#include <optional>

#include "tessera/distributed.hpp"
#endif

int main(int argc, char** argv) {
  using namespace mnist_app;
#ifdef TESSERA_MNIST_MPI
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
  CLI::App app{"tessera-mnist: train and evaluate neural networks on MNIST-style IDX data with Tessera"};
  app.require_subcommand(1);
  const std::string data_help = "folder of the IDX files (default: $TESSERA_DATA or ~/.cache/tessera/mnist)";
  const std::string threads_help = "threads to use (default: $TESSERA_NUM_THREADS or every core)";

  TrainArgs train;
  train.data_dir = default_data_dir();
  auto* t = app.add_subcommand("train", "train a model and evaluate it on the test set after each epoch");
  t->add_option("--data", train.data_dir, data_help);
  t->add_option("--model", train.model,
                "preset: seed (the original 784-100-50-10 sigmoid/MSE network), mlp (784-512-256-10 ReLU) or cnn (two "
                "convolutions and pooling, then 1024-128-10)")
      ->check(CLI::IsMember(preset_names()))
      ->capture_default_str();
  t->add_option("--epochs", train.epochs, "epochs (default: the preset's)")->check(CLI::Range(1, 100000));
  t->add_option("--batch-size", train.batch_size, "examples per step (default: the preset's)")
      ->check(CLI::Range(1, 1 << 20));
  t->add_option("--lr", train.lr, "learning rate (default: the preset's)")->check(CLI::PositiveNumber);
  t->add_option("--optimizer", train.optimizer, "sgd, momentum or adam (default: the preset's)")
      ->check(CLI::IsMember({"sgd", "momentum", "adam"}));
  t->add_option("--threads", train.threads, threads_help)->check(CLI::Range(1, 4096));
  t->add_option("--seed", train.seed, "seed of the initial weights and of the shuffles")->capture_default_str();
  t->add_option("--save", train.save, "write the trained model to this file");
  t->add_option("--metrics", train.metrics, "write one JSON line per epoch to this file");
  t->add_option("--limit-train", train.limit_train, "train on the first N images only")->check(CLI::PositiveNumber);
  t->add_option("--limit-test", train.limit_test, "test on the first N images only")->check(CLI::PositiveNumber);
  t->add_flag("--profile", train.profile, "print where the time of a step goes, layer by layer");
  t->add_option("--checkpoint", train.checkpoint,
                "write a checkpoint (model, optimizer state, position) to this file after each epoch, atomically");
  t->add_option("--checkpoint-every", train.checkpoint_every, "also every N steps (needs --checkpoint)")
      ->check(CLI::PositiveNumber);
  t->add_option("--resume", train.resume,
                "continue the run a checkpoint file was written by, with its settings; it goes on checkpointing "
                "to that file unless --checkpoint says otherwise");

  EvalArgs eval;
  eval.data_dir = default_data_dir();
  auto* e = app.add_subcommand("eval", "loss, accuracy and confusion matrix of a saved model on the test set");
  e->add_option("--load", eval.load, "model file")->required();
  e->add_option("--data", eval.data_dir, data_help);
  e->add_option("--threads", eval.threads, threads_help)->check(CLI::Range(1, 4096));

  PredictArgs predict;
  predict.data_dir = default_data_dir();
  auto* p = app.add_subcommand("predict", "draw one test image and show the model's prediction");
  p->add_option("--load", predict.load, "model file")->required();
  p->add_option("--index", predict.index, "index of the test image")->required();
  p->add_option("--data", predict.data_dir, data_help);
  p->add_option("--threads", predict.threads, threads_help)->check(CLI::Range(1, 4096));

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& s) {
    return app.exit(s);
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "tessera-mnist: error: {} (see --help)\n", error.what());
    return 2;
  }
  for (const char* name : {"--model", "--epochs", "--batch-size", "--lr", "--optimizer", "--seed", "--limit-train"}) {
    if (t->get_option(name)->count() > 0) train.run_settings_given.emplace_back(name);
  }
#ifdef TESSERA_MNIST_MPI
  if (world && world->size() > 1) train.processes = &*world;
#endif
  try {
    if (t->parsed()) return run_train(train);
    if (e->parsed()) return run_eval(eval);
    return run_predict(predict);
  } catch (const std::exception& error) {
    std::fflush(stdout);
#ifdef TESSERA_MNIST_MPI
    // One process failing must stop them all, not leave the others waiting in a gradient sum.
    if (train.processes != nullptr) world->abort(std::string("tessera-mnist: error: ") + error.what(), 2);
#endif
    fmt::print(stderr, "\ntessera-mnist: error: {}\n", error.what());
    return 2;
  }
}
