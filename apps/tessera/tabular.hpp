// Tables in the app: reading a CSV for training (with its test and validation splits), what a saved
// model records of its table (features, targets, classes, task), reading a CSV for a saved model, and
// writing predictions as CSV.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "run_settings.hpp"
#include "tessera/tessera.hpp"

namespace tessera_app {

struct TableData {
  tessera::data::Dataset train, test;
  std::vector<std::string> features, targets, classes;  // classes: classification only
  std::string test_source;                              // "test.csv", or "20% of train.csv"
};

// The training table `file` (targets, task and limit as `run` says) and its test set: `test_file`,
// or run.test_fraction of the rows drawn from the seed. Throws DataError or std::invalid_argument.
TableData load_table(const std::string& file, const std::string& test_file, const RunSettings& run);

// What a model trained on a table records, and reads back.
struct TableModel {
  tessera::TargetKind task = tessera::TargetKind::Classes;
  std::vector<std::string> features, targets, classes;
};
void record_table(tessera::ModelMetadata& metadata, const TableModel& table);
// nullopt for a model not trained on a table (an IDX model). Throws std::invalid_argument naming
// `file` for malformed entries.
std::optional<TableModel> table_of(const tessera::ModelMetadata& metadata, const std::string& file);

// `file`'s rows for a model of `table`: its feature columns in its order (other columns ignored), and
// its targets when the file has them (need_targets: it must). Throws DataError.
tessera::data::CsvData read_for_model(const std::string& file, const TableModel& table, bool need_targets);

// One CSV row per example: classification, the class's name then each class's probability (softmax,
// or sigmoid for a single logit; raw outputs for an MSE-trained model); regression, the values of the
// targets. Written atomically to `output` (a temporary, then a rename), or to standard output when
// empty. Throws std::runtime_error when the file cannot be written.
void write_predictions(const std::string& output, tessera::Graph& net, const tessera::data::Dataset& rows,
                       const TableModel& table, const std::string& loss);

// A CSV field, quoted when it must be (RFC 4180).
std::string csv_field(const std::string& text);

}  // namespace tessera_app
