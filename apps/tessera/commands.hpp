// The app's subcommands, each taking its parsed options; main.cpp owns parsing and error reporting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/process_group.hpp"

namespace tessera_app {

struct TrainArgs {
  std::string data_dir;  // a folder of IDX files, or a CSV file
  std::string test;      // csv: a test file (else --test-fraction of the data)
  std::vector<std::string> targets;
  std::optional<std::string> model, task, hidden, loss, optimizer;
  std::optional<std::int64_t> epochs, batch_size, early_stopping, limit_train;
  std::optional<float> lr, weight_decay;
  std::optional<double> test_fraction, validation;
  std::optional<std::uint64_t> seed;
  int threads = 0;
  std::string save, metrics;
  std::int64_t limit_test = 0;  // 0: all
  bool profile = false;
  std::string checkpoint, resume;
  std::optional<std::int64_t> checkpoint_every;
  // The options given that fix the run (--model, --epochs, ...): with --resume (or a re-run onto an
  // existing checkpoint) they must equal the checkpoint's.
  std::vector<std::string> run_settings_given;
  // The processes of a data-parallel run (mpirun), or null.
  tessera::ProcessGroup* processes = nullptr;
};

struct EvalArgs {
  std::string data_dir, load;
  int threads = 0;
};

struct PredictArgs {
  std::string data_dir, load, output;
  std::optional<std::int64_t> index;  // idx: the test image
  int threads = 0;
};

// Between Tessera's model files and ONNX, by the files' extensions (.onnx or not).
struct ConvertArgs {
  std::string in, out;
};

struct DescribeArgs {
  std::string model = "mlp";
  std::string data;  // empty: MNIST's shapes (28×28 images, 10 classes)
};

// The program's name in messages ("tessera" or "tessera-mnist").
extern std::string program;

int run_train(const TrainArgs& args);
int run_eval(const EvalArgs& args);
int run_predict(const PredictArgs& args);
int run_convert(const ConvertArgs& args);
// Prints a preset (or a description file, checked) as a model description.
int run_describe(const DescribeArgs& args);

}  // namespace tessera_app
