// Per-thread scratch that is safe under TBB's work stealing: a thread waiting inside parallel_for may
// pick up another task that wants the same kind of scratch (a layer parallel over the batch calling
// gemm, or another network run from another thread in the same arena), so each nesting level on a
// thread gets its own, kept for the thread's later calls.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace tessera::detail {

// Holds one T of this thread's nesting level while it lives.
template <class T>
class ScratchLease {
 public:
  ScratchLease() {
    std::vector<std::unique_ptr<T>>& all = levels();
    if (depth() == all.size()) all.push_back(std::make_unique<T>());
    item_ = all[depth()++].get();
  }
  ~ScratchLease() { --depth(); }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  T& operator*() const { return *item_; }
  T* operator->() const { return item_; }

 private:
  static std::vector<std::unique_ptr<T>>& levels() {
    thread_local std::vector<std::unique_ptr<T>> all;
    return all;
  }
  static std::size_t& depth() {
    thread_local std::size_t level = 0;
    return level;
  }
  T* item_;
};

}  // namespace tessera::detail
