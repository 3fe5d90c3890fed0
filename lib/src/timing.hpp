// The one clock the library's profiles and epoch timings read.
#pragma once

#include <chrono>

namespace tessera::detail {

// Seconds on the monotonic clock, from an arbitrary origin: only differences mean anything.
inline double now_seconds() noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace tessera::detail
