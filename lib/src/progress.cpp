// The progress bar's drawing.
#include "progress.hpp"

#include <cstdio>
#include <string>

namespace tessera::detail {

ProgressBar::ProgressBar(std::ostream& out, std::int64_t epoch, std::int64_t epochs, std::int64_t steps)
    : out_(out), epoch_(epoch), epochs_(epochs), steps_(steps), start_(Clock::now()), last_draw_(start_) {}

void ProgressBar::update(std::int64_t done, double loss, std::int64_t examples) {
  const auto now = Clock::now();
  if (done < steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0.0 ? static_cast<double>(examples) / elapsed : 0.0;
  const double left = done > 0 ? elapsed * static_cast<double>(steps_ - done) / static_cast<double>(done) : 0.0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * done / (steps_ > 0 ? steps_ : 1));
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '-');
  char line[200];
  std::snprintf(line, sizeof line, "\r\033[KEpoch %lld/%lld [%s] %lld/%lld  loss %.4f  %.1fk ex/s  ETA %.0fs",
                static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
                static_cast<long long>(done), static_cast<long long>(steps_), loss, rate / 1e3, left);
  out_ << line << std::flush;
  drawn_ = true;
}

void ProgressBar::clear() {
  if (drawn_) out_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace tessera::detail
