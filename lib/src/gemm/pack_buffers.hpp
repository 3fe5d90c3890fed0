// Packing buffers: 64-byte-aligned, grow-only, owned by the calling thread and reused by every later
// gemm call on it, so a call in steady state allocates nothing.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "scratch_lease.hpp"

namespace tessera::detail {

// A grow-only, 64-byte-aligned float buffer.
class AlignedFloats {
 public:
  float* get(std::int64_t count) {
    if (count > capacity_) {
      const auto bytes = static_cast<std::size_t>((count * 4 + 63) / 64 * 64);
      data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      if (!data_) throw std::bad_alloc();
      capacity_ = count;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  std::int64_t capacity_ = 0;
};

struct PackBuffers {
  AlignedFloats a, b;
};

// Each nesting level of gemm calls on a thread gets its own buffers (scratch_lease.hpp).
using PackBufferLease = ScratchLease<PackBuffers>;

}  // namespace tessera::detail
