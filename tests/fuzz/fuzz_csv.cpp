// libFuzzer target: any bytes as a CSV file (raw, or gzip when they start with its magic), read with
// options drawn from the first byte (header or none, task, class order, delimiter given or detected,
// a tiny chunk size, target by index). The reader must return a data set that holds what it says
// (rows × features finite floats, labels below the class count, names for every class) or throw
// DataError; anything else (a crash, a sanitizer report, another exception, a hang) is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "tessera/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t knobs = data[0];
  tessera::data::CsvOptions o;
  o.header = (knobs & 1) == 0;
  o.task = static_cast<tessera::data::CsvTask>((knobs >> 1) % 3);
  o.class_order = (knobs & 8) ? tessera::data::ClassOrder::FirstAppearance : tessera::data::ClassOrder::Sorted;
  if (knobs & 16) o.delimiter = ';';
  if (knobs & 32) o.chunk_bytes = 7;
  if (knobs & 64) o.targets = {0};
  if (knobs & 128) o.targets_optional = true, o.targets = {"y"};
  const auto& file = tessera::fuzz::write_input(data + 1, size - 1, "csv");
  try {
    const tessera::data::CsvData csv = tessera::data::read_csv(file, o);
    const tessera::data::Dataset& d = csv.data;
    if (d.example_size() != static_cast<std::int64_t>(csv.feature_names.size())) __builtin_trap();
    for (std::int64_t i = 0; i < d.size(); ++i) {
      for (float v : d.features(i)) {
        if (!std::isfinite(v)) __builtin_trap();
      }
      if (d.target_kind() == tessera::TargetKind::Classes) {
        if (d.label(i) < 0 || d.label(i) >= d.classes()) __builtin_trap();
      } else {
        for (float v : d.value(i)) {
          if (!std::isfinite(v)) __builtin_trap();
        }
      }
    }
    if (d.target_kind() == tessera::TargetKind::Classes && csv.has_targets &&
        static_cast<std::int64_t>(d.targets().class_names().size()) != d.classes()) {
      __builtin_trap();
    }
  } catch (const tessera::data::DataError&) {
    // A clear error: what a bad file must give.
  }
  return 0;
}
