// Tables in the app: reading, splits, the model's record of its table, predictions as CSV.
#include "tabular.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "report.hpp"

namespace tessera_app {

namespace {
tessera::data::CsvTask csv_task(const std::string& task) {
  if (task == "classification") return tessera::data::CsvTask::Classification;
  if (task == "regression") return tessera::data::CsvTask::Regression;
  return tessera::data::CsvTask::Auto;
}

std::vector<tessera::data::CsvColumn> columns(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}
}  // namespace

TableData load_table(const std::string& file, const std::string& test_file, const RunSettings& run) {
  tessera::data::CsvOptions o;
  o.targets = columns(run.targets);
  o.task = csv_task(run.task);
  tessera::data::CsvData csv = tessera::data::read_csv(file, o);
  TableData t;
  t.features = csv.feature_names;
  t.targets = csv.target_names;
  t.classes = csv.data.targets().class_names();
  if (!test_file.empty()) {
    // The test file is read as the training file's table: its columns by name, its classes the same.
    tessera::data::CsvOptions to;
    to.targets = columns(t.targets);
    to.features = columns(t.features);
    to.task = csv.data.target_kind() == tessera::TargetKind::Classes ? tessera::data::CsvTask::Classification
                                                                     : tessera::data::CsvTask::Regression;
    to.classes = t.classes;
    t.test = tessera::data::read_csv(test_file, to).data;
    t.train = std::move(csv.data);
    t.test_source = test_file;
  } else if (run.test_fraction > 0.0) {
    auto halves = csv.data.split(run.test_fraction, run.seed);
    t.train = std::move(halves.first);
    t.test = std::move(halves.second);
    t.test_source = fmt::format("{:g}% of {}", 100.0 * run.test_fraction, file);
  } else {
    t.train = std::move(csv.data);
  }
  if (run.limit_train > 0) t.train = t.train.head(run.limit_train);
  return t;
}

void record_table(tessera::ModelMetadata& m, const TableModel& table) {
  m["task"] = table.task == tessera::TargetKind::Classes ? "classification" : "regression";
  m["features"] = encode_names(table.features);
  m["targets"] = encode_names(table.targets);
  m["classes"] = encode_names(table.classes);
}

std::optional<TableModel> table_of(const tessera::ModelMetadata& m, const std::string& file) {
  const auto task = m.find("task");
  if (task == m.end() || m.find("features") == m.end()) return std::nullopt;
  TableModel t;
  if (task->second != "classification" && task->second != "regression") {
    throw std::invalid_argument(file + ": a bad task '" + task->second + "'");
  }
  t.task = task->second == "classification" ? tessera::TargetKind::Classes : tessera::TargetKind::Values;
  try {
    t.features = decode_names(m.at("features"));
    t.targets = decode_names(m.at("targets"));
    t.classes = m.count("classes") ? decode_names(m.at("classes")) : std::vector<std::string>{};
  } catch (const std::exception&) {
    throw std::invalid_argument(file + ": malformed feature, target or class names in its metadata");
  }
  return t;
}

tessera::data::CsvData read_for_model(const std::string& file, const TableModel& table, bool need_targets) {
  tessera::data::CsvOptions o;
  o.features = columns(table.features);
  o.targets = columns(table.targets);
  o.targets_optional = !need_targets;
  o.task = table.task == tessera::TargetKind::Classes ? tessera::data::CsvTask::Classification
                                                      : tessera::data::CsvTask::Regression;
  o.classes = table.classes;
  return tessera::data::read_csv(file, o);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void write_predictions(const std::string& output, tessera::Graph& net, const tessera::data::Dataset& rows,
                       const TableModel& table, const std::string& loss) {
  std::ostringstream text;
  const bool classes = table.task == tessera::TargetKind::Classes;
  const bool probabilities = classes && (loss == "cross_entropy" || loss == "bce");
  std::string header;
  if (classes) {
    header = csv_field(table.targets.empty() ? "class" : table.targets.front());
    for (const auto& c : table.classes) header += "," + csv_field((probabilities ? "p_" : "output_") + c);
  } else {
    for (const auto& t : table.targets) header += (header.empty() ? "" : ",") + csv_field(t);
  }
  text << header << "\n";
  net.eval();
  const std::int64_t batch = std::min<std::int64_t>(1000, std::max<std::int64_t>(1, rows.size()));
  tessera::Tensor x(net.in_shape().with_batch(batch));
  tessera::TargetBuffer ignored = rows.target_buffer(batch);
  const std::vector<std::int64_t> order = rows.sequential_order();
  for (std::int64_t first = 0; first < rows.size(); first += batch) {
    const std::int64_t n = std::min(batch, rows.size() - first);
    tessera::Tensor xb = n == batch ? x.view() : x.rows(0, n);
    rows.gather(order, first, xb, ignored);
    const tessera::Tensor& y = net.forward(xb);
    const std::int64_t width = y.row_size();
    for (std::int64_t r = 0; r < n; ++r) {
      const float* out = y.data() + r * width;
      std::string line;
      if (classes) {
        const std::vector<double> p = class_scores(out, width, table.classes.size(), probabilities);
        std::size_t best = 0;
        for (std::size_t j = 1; j < p.size(); ++j) {
          if (p[j] > p[best]) best = j;
        }
        line = csv_field(table.classes.empty() ? std::to_string(best) : table.classes[best]);
        for (double v : p) line += fmt::format(",{:.6g}", v);
      } else {
        for (std::int64_t j = 0; j < width; ++j) line += fmt::format("{}{}", j ? "," : "", out[j]);
      }
      text << line << "\n";
    }
  }
  if (output.empty()) {
    std::cout << text.str() << std::flush;
    return;
  }
  // Atomically: a temporary beside the file, then a rename over it.
  const std::string temporary = output + ".writing";
  {
    std::ofstream out(temporary, std::ios::out | std::ios::trunc | std::ios::binary);
    out << text.str() << std::flush;
    if (!out) throw std::runtime_error(output + ": cannot write the predictions");
  }
  std::error_code error;
  std::filesystem::rename(temporary, output, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    throw std::runtime_error(output + ": cannot write the predictions: " + error.message());
  }
}

}  // namespace tessera_app
