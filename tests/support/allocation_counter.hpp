// Replaces the global operator new of the test executable that includes it (include it in exactly one
// translation unit) to count heap allocations, for the checks that a warm code path allocates nothing.
// To find an allocation, run the test with TESSERA_ABORT_ON_ALLOCATION=1 under a debugger: a counted
// allocation then aborts where it happens.
#pragma once

// ThreadSanitizer's runtime defines operator new itself: no counting there.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TESSERA_TEST_NO_ALLOCATION_COUNTER 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TESSERA_TEST_NO_ALLOCATION_COUNTER 1
#endif

#include <atomic>
#include <cstdlib>
#include <new>

namespace tessera::test {

inline std::atomic<bool> g_counting_allocations{false};
inline std::atomic<long> g_allocations{0};

// Counts the allocations made while it lives.
class AllocationCounter {
 public:
  AllocationCounter() {
    g_allocations = 0;
    g_counting_allocations = true;
  }
  ~AllocationCounter() { g_counting_allocations = false; }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  long count() const { return g_allocations.load(); }
  // False under ThreadSanitizer: callers skip their check.
  static constexpr bool available() {
#ifdef TESSERA_TEST_NO_ALLOCATION_COUNTER
    return false;
#else
    return true;
#endif
  }
};

}  // namespace tessera::test

#ifndef TESSERA_TEST_NO_ALLOCATION_COUNTER
// Out of line, so GCC does not pair inlined malloc/free against new/delete (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (tessera::test::g_counting_allocations.load(std::memory_order_relaxed)) {
    tessera::test::g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (tessera::test::g_counting_allocations.load() && std::getenv("TESSERA_ABORT_ON_ALLOCATION")) std::abort();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif
