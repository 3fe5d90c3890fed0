// Reading CSV files into a Dataset: RFC 4180 (quoted fields with embedded delimiters, quotes and line
// breaks; CRLF or LF line ends; a UTF-8 byte-order mark), a header row naming the columns, the
// delimiter detected or given, target columns chosen by name or index and every other column a
// numeric feature unless excluded. Read in chunks (raw or gzip-compressed), numbers parsed exactly
// (std::from_chars); every bad input is a DataError naming the file, line and column.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tessera/data/dataset.hpp"

namespace tessera::data {

// A column by its header name or by its 0-based index.
struct CsvColumn {
  std::string name;
  std::int64_t index = -1;
  CsvColumn(const char* n) : name(n) {}             // NOLINT: implicit on purpose
  CsvColumn(std::string n) : name(std::move(n)) {}  // NOLINT
  CsvColumn(int i) : index(i) {}                    // NOLINT
  CsvColumn(std::int64_t i) : index(i) {}           // NOLINT
  // "'price'" or "column 3"
  std::string to_string() const;
};

enum class CsvTask {
  // Classification when the (single) target column holds text or whole numbers written without a
  // decimal point or exponent ("3", "-1"), regression when it holds any other number ("2.5", "3.0",
  // "1e2"); several target columns are always values. Text labels with such numbers among them are
  // an error naming the line (ask for a task to read them one way).
  Auto,
  Classification,
  Regression,
};

// The order of class indices for text (or whole-number) labels.
enum class ClassOrder {
  Sorted,           // labels sorted: numerically when all are whole numbers, else by their bytes
  FirstAppearance,  // in the order they first appear in the file
};

struct CsvOptions {
  char delimiter = 0;  // 0: detected from the first line (the most frequent of , ; tab |)
  bool header = true;  // the first row names the columns (else they are "column 1", "column 2", ...)
  // The target columns; none given: the last column. No target at all: set no_targets.
  std::vector<CsvColumn> targets;
  bool no_targets = false;  // every (not excluded) column is a feature; the targets are empty values
  // When targets are given but none of them is in the file, read the features only (as no_targets)
  // instead of failing: rows to predict on.
  bool targets_optional = false;
  // The feature columns, in this order (a model's, when reading data for it); none given: every
  // column that is neither a target nor excluded, in file order.
  std::vector<CsvColumn> features;
  std::vector<CsvColumn> exclude;  // columns that are neither features nor targets (ids, dates)
  CsvTask task = CsvTask::Auto;
  ClassOrder class_order = ClassOrder::Sorted;
  // The classes, when already known (a training set's, reading its test set): every label must be
  // one of them, and class i is classes[i].
  std::vector<std::string> classes;
  std::size_t chunk_bytes = std::size_t{1} << 20;  // read at a time
};

struct CsvData {
  Dataset data;  // features as floats [columns], targets as the task says
  std::vector<std::string> feature_names, target_names;
  bool has_targets = true;  // false with no_targets, or targets_optional and none in the file
  char delimiter = ',';
};

// Reads `file` (raw or gzip, recognised by its content). Throws DataError naming the file, line and
// column: a ragged row, an empty or non-numeric feature, NaN or infinity, a number out of float range,
// an unterminated quote, a missing or repeated column, an empty file or a header without rows, a
// label not among options.classes.
CsvData read_csv(const std::filesystem::path& file, const CsvOptions& options = {});
// The same from text in memory (`name` stands for the file in errors).
CsvData parse_csv(std::string_view text, const CsvOptions& options = {}, const std::string& name = "<text>");

}  // namespace tessera::data
