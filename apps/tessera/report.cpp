// Text reports.
#include "report.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>

namespace tessera_app {

void print_profile(std::ostream& out, const std::vector<tessera::LayerProfile>& profile, double train_seconds,
                   std::int64_t steps) {
  if (steps < 1 || train_seconds <= 0.0) return;
  const double step_ms = 1e3 * train_seconds / static_cast<double>(steps);
  fmt::print(out, "\nProfile: {} steps, {:.3f} ms per step\n", steps, step_ms);
  fmt::print(out, "{:<26} {:>11} {:>11} {:>9} {:>9} {:>8}\n", "layer", "forward ms", "backward ms", "GFLOP/s",
             "in GEMM", "share");
  double layers_ms = 0.0;
  for (const auto& p : profile) {
    const double f = 1e3 * p.forward_seconds / static_cast<double>(steps);
    const double b = 1e3 * p.backward_seconds / static_cast<double>(steps);
    const double seconds = p.forward_seconds + p.backward_seconds;
    const double flops = p.forward_flops + p.backward_flops;
    layers_ms += f + b;
    const std::string gflops = flops > 0.0 && seconds > 0.0 ? fmt::format("{:.1f}", flops / seconds * 1e-9) : "-";
    const double in_gemm = seconds > 0.0 ? 100.0 * p.gemm_seconds / seconds : 0.0;
    fmt::print(out, "{:<26} {:>11.3f} {:>11.3f} {:>9} {:>8.0f}% {:>7.1f}%\n", p.name, f, b, gflops, in_gemm,
               100.0 * (f + b) / step_ms);
  }
  const double rest = step_ms - layers_ms;
  fmt::print(out, "{:<26} {:>23.3f} {:>9} {:>9} {:>7.1f}%\n", "loss, optimizer, data", rest, "", "",
             100.0 * rest / step_ms);
}

void print_confusion(std::ostream& out, const tessera::Evaluation& e, const std::vector<std::string>& names) {
  const auto name = [&](std::int32_t c) {
    return static_cast<std::size_t>(c) < names.size() ? names[static_cast<std::size_t>(c)] : std::to_string(c);
  };
  std::size_t width = 6;
  for (std::int32_t c = 0; c < e.classes; ++c) width = std::max(width, name(c).size() + 2);
  fmt::print(out, "Confusion matrix (rows: true class, columns: predicted)\n{:>{}}", "", width);
  for (std::int32_t c = 0; c < e.classes; ++c) fmt::print(out, "{:>{}}", name(c), width);
  fmt::print(out, "\n");
  for (std::int32_t t = 0; t < e.classes; ++t) {
    fmt::print(out, "{:>{}}", name(t), width);
    for (std::int32_t p = 0; p < e.classes; ++p) {
      fmt::print(out, "{:>{}}", e.confusion[static_cast<std::size_t>(t * e.classes + p)], width);
    }
    fmt::print(out, "\n");
  }
}

void print_digit(std::ostream& out, std::span<const std::uint8_t> pixels, std::int64_t rows, std::int64_t cols) {
  static constexpr char kShades[] = " .:-=+*#%@";
  for (std::int64_t r = 0; r < rows; ++r) {
    std::string line;
    for (std::int64_t c = 0; c < cols; ++c) {
      const int v = pixels[static_cast<std::size_t>(r * cols + c)];
      // Two characters a pixel: terminal cells are about twice as tall as wide.
      line.append(2, kShades[v * 9 / 255]);
    }
    fmt::print(out, "{}\n", line);
  }
}

namespace {
// `prefix`_loss and the task's figures, or nulls.
std::string figures_json(const char* prefix, const tessera::Metrics* m, tessera::TargetKind task, bool with_r2) {
  const bool classes = task == tessera::TargetKind::Classes;
  if (m == nullptr) {
    return classes ? fmt::format(R"(, "{0}_loss": null, "{0}_accuracy": null)", prefix)
                   : fmt::format(R"(, "{0}_loss": null, "{0}_rmse": null, "{0}_mae": null{1})", prefix,
                                 with_r2 ? fmt::format(R"(, "{}_r2": null)", prefix) : "");
  }
  if (classes)
    return fmt::format(R"(, "{}_loss": {:.8g}, "{}_accuracy": {:.6f})", prefix, m->loss, prefix, m->accuracy);
  std::string s = fmt::format(R"(, "{0}_loss": {1:.8g}, "{0}_rmse": {2:.8g}, "{0}_mae": {3:.8g})", prefix, m->loss,
                              m->rmse, m->mae);
  if (with_r2) s += fmt::format(R"(, "{}_r2": {:.6f})", prefix, m->r2);
  return s;
}
}  // namespace

std::vector<double> class_scores(const float* out, std::int64_t width, std::size_t classes, bool probabilities) {
  std::vector<double> p(classes, 0.0);
  if (width == 1) {
    const double z = static_cast<double>(out[0]);
    const double one = 1.0 / (1.0 + std::exp(-z));
    if (p.size() >= 2) p[0] = probabilities ? 1.0 - one : z, p[1] = probabilities ? one : z;
    return p;
  }
  double top = static_cast<double>(out[0]), sum = 0.0;
  for (std::int64_t j = 1; j < width; ++j) top = std::max(top, static_cast<double>(out[j]));
  for (std::size_t j = 0; j < p.size() && static_cast<std::int64_t>(j) < width; ++j) {
    const double v = static_cast<double>(out[j]);
    p[j] = probabilities ? std::exp(v - top) : v;
    sum += p[j];
  }
  if (probabilities) {
    for (double& v : p) v /= sum;
  }
  return p;
}

std::string metrics_json(const tessera::EpochStats& s) {
  std::string line = fmt::format(R"({{"epoch": {}, "examples": {})", s.epoch, s.examples);
  line += figures_json("train", &s.train, s.task, false);
  line += figures_json("test", s.evaluated ? &s.test : nullptr, s.task, true);
  if (s.validated) line += figures_json("validation", &s.validation, s.task, true);
  line += fmt::format(R"(, "seconds": {:.4f}, "examples_per_second": {:.1f}, "threads": {}}})", s.seconds,
                      s.examples_per_second, s.threads);
  return line;
}

}  // namespace tessera_app
