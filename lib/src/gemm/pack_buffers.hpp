// Packing buffers: 64-byte-aligned, grow-only, owned by the calling thread and reused by every later
// gemm call on it, so a call in steady state allocates nothing.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

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

// A thread waiting inside parallel_for may pick up another task that
// calls gemm itself (a layer parallel over the batch, say): each nesting level gets its own buffers.
class PackBufferLease {
 public:
  PackBufferLease() {
    if (depth_ == levels().size()) levels().push_back(std::make_unique<PackBuffers>());
    buffers_ = levels()[depth_++].get();
  }
  ~PackBufferLease() { --depth_; }
  PackBufferLease(const PackBufferLease&) = delete;
  PackBufferLease& operator=(const PackBufferLease&) = delete;
  PackBuffers& operator*() const { return *buffers_; }

 private:
  static std::vector<std::unique_ptr<PackBuffers>>& levels() {
    thread_local std::vector<std::unique_ptr<PackBuffers>> all;
    return all;
  }
  static thread_local std::size_t depth_;
  PackBuffers* buffers_;
};
inline thread_local std::size_t PackBufferLease::depth_ = 0;

}  // namespace tessera::detail
