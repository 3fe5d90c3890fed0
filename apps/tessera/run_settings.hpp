// What fixes a training run (preset, data kind, targets, task, widths, loss, optimizer, epochs, seed,
// splits, early stopping): resolved from the command line, recorded in checkpoints, read back, and
// compared option by option so that a run is continued only with the settings it was started with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tessera/tessera.hpp"

namespace tessera_app {

struct RunSettings {
  std::string data_kind = "idx";  // "idx": a folder of IDX files; "csv": a table
  std::string model = "mlp";
  std::vector<std::string> targets;  // csv: the target columns (none: the last)
  std::string task = "auto";         // csv: auto, classification or regression
  std::vector<std::int64_t> hidden;  // the hidden widths
  std::string loss;                  // empty: the preset's (idx) or the task's (csv) default
  std::int64_t epochs = 0, batch_size = 0;
  float lr = 0.0f;
  std::string optimizer;
  float weight_decay = 0.0f;
  std::uint64_t seed = 1;
  std::int64_t limit_train = 0;  // 0: all
  double test_fraction = 0.0;    // csv without --test: the share of rows held out for testing
  double validation = 0.0;       // the share of training rows held out for validation
  std::int64_t early_stopping = 0;
  std::int64_t checkpoint_every = 0;  // how often, not what: never compared
};

// Each setting as the command-line option that sets it and its value's text ("--epochs", "10"),
// checkpoint_every left out.
std::vector<std::pair<std::string, std::string>> describe(const RunSettings& s);

// The metadata a checkpoint of the run records.
tessera::ModelMetadata checkpoint_metadata(const RunSettings& s);
// A checkpoint's run settings; `defaults` gives those that checkpoints of earlier versions (of
// tessera-mnist) did not record. Throws std::invalid_argument naming `file` for a checkpoint that
// is not the app's, or a bad value.
RunSettings settings_of(const tessera::Checkpoint& c, const std::string& file,
                        RunSettings (*defaults)(const std::string& preset));

// "--epochs 3 in the checkpoint, 5 here; --lr ..." for every option in `options` (all of them when
// empty) whose value differs, or an empty string when none does.
std::string differences(const RunSettings& checkpoint, const RunSettings& here,
                        const std::vector<std::string>& options = {});

// "64,32" ↔ {64, 32}; throws std::invalid_argument for a bad list.
std::string widths_text(const std::vector<std::int64_t>& widths);
std::vector<std::int64_t> parse_widths(const std::string& text);

// Lists of names (columns, classes) in one metadata value, each as its length, ':' and its bytes
// ("3:abc5:hello"): any name survives. Throws std::invalid_argument for a malformed value.
std::string encode_names(const std::vector<std::string>& names);
std::vector<std::string> decode_names(const std::string& text);

}  // namespace tessera_app
