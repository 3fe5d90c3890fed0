// Subnormal floats cost 100+ cycles each on x86 (a microcode assist per operation). Training makes
// them: Adam's first moment of a weight whose gradient is exactly zero (a dead ReLU unit) decays by
// β1 each step into the subnormal range, and with a few percent of such weights the whole update ran
// 2× slower after a few epochs. Like TensorFlow, Tessera flushes them to zero inside its own loops:
// this guard sets MXCSR's flush-to-zero and denormals-are-zero bits for its scope and restores the
// caller's mode afterwards. Every chunk of work sets it, on whatever thread runs it, so results stay
// the same for any thread count.
#pragma once

#include <xmmintrin.h>

namespace tessera::detail {

class FlushDenormals {
 public:
  FlushDenormals() noexcept : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  static constexpr unsigned kFlushToZero = 0x8000;
  static constexpr unsigned kDenormalsAreZero = 0x0040;
  unsigned saved_;
};

}  // namespace tessera::detail
