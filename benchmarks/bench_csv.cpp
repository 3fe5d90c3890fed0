// bench_csv: CSV parsing speed, MB/s of text on one thread, on a generated table (by default 200 MB:
// 1M rows of 20 features and a value target written with 6 decimals, the form of a numeric export),
// median of several reads; beside it, in the same run, the speed of only reading the file's bytes
// (the same zlib path, no parsing): the ceiling for the parser.
//
//   bench_csv [--rows 1000000] [--features 20] [--repeat 5] [--file PATH] [--keep]
#include <fmt/format.h>
#include <zlib.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "median.hpp"
#include "tessera/tessera.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void write_table(const std::filesystem::path& file, std::int64_t rows, int features) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  std::string line;
  for (int j = 0; j < features; ++j) line += fmt::format("f{},", j);
  out << line << "y\n";
  tessera::Rng rng(1, 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    line.clear();
    for (int j = 0; j <= features; ++j) {
      line += fmt::format("{:.6f}", rng.uniform(-3.0, 3.0));
      line += j == features ? '\n' : ',';
    }
    out << line;
  }
}

double read_bytes_only(const std::filesystem::path& file) {
  gzFile f = gzopen(file.c_str(), "rb");
  std::vector<char> buffer(std::size_t{1} << 20);
  double sum = 0;
  for (int got; (got = gzread(f, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0;) sum += buffer[0];
  gzclose(f);
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t rows = 1000000;
  int features = 20, repeat = 5;
  std::string path;
  bool keep = false;
  CLI::App app{"bench_csv: CSV parsing MB/s on one thread"};
  app.add_option("--rows", rows)->check(CLI::PositiveNumber);
  app.add_option("--features", features)->check(CLI::Range(1, 1000));
  app.add_option("--repeat", repeat)->check(CLI::Range(1, 100));
  app.add_option("--file", path, "the generated table (default: a file in the temporary folder)");
  app.add_flag("--keep", keep, "keep the generated file");
  CLI11_PARSE(app, argc, argv);
  const std::filesystem::path file =
      path.empty() ? std::filesystem::temp_directory_path() / "tessera-bench.csv" : std::filesystem::path(path);
  if (!std::filesystem::exists(file)) write_table(file, rows, features);
  const double megabytes = static_cast<double>(std::filesystem::file_size(file)) / 1e6;
  tessera::ThreadLimit one(1);
  std::vector<double> parse, read, ratio;
  std::int64_t parsed_rows = 0;
  read_bytes_only(file);  // warm the page cache
  for (int i = 0; i < repeat; ++i) {
    // Interleaved: a read, then a parse, each round.
    auto start = Clock::now();
    volatile double sink = read_bytes_only(file);
    (void)sink;
    const double r = megabytes / std::chrono::duration<double>(Clock::now() - start).count();
    start = Clock::now();
    tessera::data::CsvOptions o;
    o.targets = {"y"};
    const tessera::data::CsvData csv = tessera::data::read_csv(file, o);
    const double p = megabytes / std::chrono::duration<double>(Clock::now() - start).count();
    parsed_rows = csv.data.size();
    read.push_back(r);
    parse.push_back(p);
    ratio.push_back(p / r);
  }
  fmt::print("CSV {}: {:.1f} MB, {} rows × {} features and a target\n", file.string(), megabytes, parsed_rows,
             features);
  fmt::print(
      "read_csv: {:.0f} MB/s (median of {}; min {:.0f}, max {:.0f}); reading the bytes alone: {:.0f} MB/s; "
      "parse ÷ read, median of per-round ratios: {:.2f}\n",
      tessera::bench::median(parse), repeat, *std::min_element(parse.begin(), parse.end()),
      *std::max_element(parse.begin(), parse.end()), tessera::bench::median(read), tessera::bench::median(ratio));
  if (!keep && path.empty()) std::filesystem::remove(file);
  return 0;
}
