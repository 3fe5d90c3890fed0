// The app's subcommands, each taking its parsed options; main.cpp owns parsing and error reporting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/process_group.hpp"

namespace mnist_app {

struct TrainArgs {
  std::string data_dir;
  std::string model = "mlp";
  std::optional<std::int64_t> epochs, batch_size;
  std::optional<float> lr;
  std::optional<std::string> optimizer;
  int threads = 0;
  std::uint64_t seed = 1;
  std::string save, metrics;
  std::int64_t limit_train = 0, limit_test = 0;  // 0: all
  bool profile = false;
  std::string checkpoint, resume;
  std::optional<std::int64_t> checkpoint_every;
  // The options given that fix the run (--model, --epochs, ...): with --resume they come from the
  // checkpoint, and giving one is an error.
  std::vector<std::string> run_settings_given;
  // The processes of a data-parallel run (mpirun), or null.
  tessera::ProcessGroup* processes = nullptr;
};

struct EvalArgs {
  std::string data_dir, load;
  int threads = 0;
};

struct PredictArgs {
  std::string data_dir, load;
  std::int64_t index = 0;
  int threads = 0;
};

int run_train(const TrainArgs& args);
int run_eval(const EvalArgs& args);
int run_predict(const PredictArgs& args);

}  // namespace mnist_app
