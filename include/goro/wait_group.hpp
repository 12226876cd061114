// goro/wait_group.hpp — Go's sync.WaitGroup.
//
//   goro::wait_group wg;
//   for (int i = 0; i < n; ++i) {
//     wg.add(1);
//     goro::go([&] { work(); wg.done(); });
//   }
//   wg.wait();   // parks the goroutine (or blocks a plain thread) until all are done
//
// add() with a positive delta must happen before the wait() it is meant to
// hold up. Misuse throws goro::panic_error with Go's messages:
// "sync: negative WaitGroup counter",
// "sync: WaitGroup misuse: Add called concurrently with Wait",
// "sync: WaitGroup is reused before previous Wait has returned".
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/export.hpp"

namespace goro {

class GORO_EXPORT wait_group {
 public:
  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  void add(int delta);
  void done() { add(-1); }
  void wait();

 private:
  // High 32 bits: the counter. Low 32 bits: the number of waiters.
  std::atomic<std::uint64_t> state_{0};
  // Waiters sleep on this semaphore (see src/sema).
  std::atomic<std::uint32_t> sema_{0};
};

}  // namespace goro
