// Learning-rate schedules.
#include "tessera/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <stdexcept>

namespace tessera {

LRSchedule LRSchedule::step(std::int64_t every, float gamma) {
  if (every < 1) throw std::invalid_argument("LRSchedule::step: every must be >= 1, got " + std::to_string(every));
  if (!(gamma > 0.0f && gamma <= 1.0f)) {
    throw std::invalid_argument("LRSchedule::step: gamma must be in (0, 1], got " + std::to_string(gamma));
  }
  LRSchedule s;
  s.kind_ = Kind::Step;
  s.period_ = every;
  s.value_ = static_cast<double>(gamma);
  return s;
}

LRSchedule LRSchedule::cosine(std::int64_t total, float min_factor) {
  if (total < 1) throw std::invalid_argument("LRSchedule::cosine: total must be >= 1, got " + std::to_string(total));
  if (!(min_factor >= 0.0f && min_factor <= 1.0f)) {
    throw std::invalid_argument("LRSchedule::cosine: min_factor must be in [0, 1], got " + std::to_string(min_factor));
  }
  LRSchedule s;
  s.kind_ = Kind::Cosine;
  s.period_ = total;
  s.value_ = static_cast<double>(min_factor);
  return s;
}

double LRSchedule::factor(std::int64_t t) const noexcept {
  t = std::max<std::int64_t>(t, 0);
  switch (kind_) {
    case Kind::Constant:
      return 1.0;
    case Kind::Step:
      return std::pow(value_, static_cast<double>(t / period_));
    case Kind::Cosine: {
      const double progress = static_cast<double>(std::min(t, period_)) / static_cast<double>(period_);
      return value_ + (1.0 - value_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return 1.0;
}

std::string LRSchedule::to_string() const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::Constant:
      return "constant";
    case Kind::Step:
      os << "step(" << period_ << ", " << value_ << ")";
      break;
    case Kind::Cosine:
      os << "cosine(" << period_ << ", " << value_ << ")";
      break;
  }
  return os.str();
}

}  // namespace tessera
