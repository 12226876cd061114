// tests/unit/test_util.hpp — small helpers shared by the unit tests.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "goro/runtime.hpp"

namespace goro_test {

// Generous bound for anything that waits on another thread: a test that
// waits longer than this has failed (a hang), not a slow machine.
inline constexpr std::chrono::seconds wait_limit{60};

// Busy-waits (no switch point: the caller keeps its thread) until pred() is
// true; false if wait_limit passed first.
template <class Pred>
bool spin_until(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  for (unsigned i = 0; !pred(); ++i) {
    if ((i & 1023) == 0 && std::chrono::steady_clock::now() > deadline) return false;
  }
  return true;
}

// Like spin_until, but calls goro::yield() between checks (lets other
// goroutines of this processor run; on a plain thread, yields the thread).
template <class Pred>
bool yield_until(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + wait_limit;
  for (unsigned i = 0; !pred(); ++i) {
    goro::yield();
    if ((i & 255) == 0 && std::chrono::steady_clock::now() > deadline) return false;
  }
  return true;
}

// The calling thread's id, read afresh. Code that may resume on another
// thread (after a goroutine switch point) must not use
// std::this_thread::get_id() directly: it is pthread_self(), which glibc
// declares __attribute__((const)), so an optimising compiler may reuse a
// value read before the switch.
[[gnu::noinline]] inline std::thread::id this_thread_id() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

// Compiled with a sanitizer (its runtime makes some tests much slower).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

#if defined(__SANITIZE_THREAD__)
inline constexpr bool tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool tsan = true;
#else
inline constexpr bool tsan = false;
#endif
#else
inline constexpr bool tsan = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool asan = true;
#else
inline constexpr bool asan = false;
#endif
#else
inline constexpr bool asan = false;
#endif

}  // namespace goro_test
