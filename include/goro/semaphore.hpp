// goro/semaphore.hpp — a weighted semaphore (golang.org/x/sync/semaphore).
//
//   goro::semaphore sem(4);                      // 4 units
//   if (auto ec = sem.acquire(ctx, 2)) return ec;   // waits, or gives up when ctx is done
//   ...
//   sem.release(2);
//
// Waiters are served in FIFO order, and a request that does not fit blocks
// the ones behind it even if they would fit (a big request is not starved
// by small ones). acquire parks the goroutine (a plain thread blocks).
// release() of more than is held throws goro::panic_error("semaphore:
// released more than held").
#pragma once

#include <cstdint>
#include <system_error>

#include "goro/context.hpp"
#include "goro/export.hpp"
#include "goro/sync.hpp"

namespace goro {

class GORO_EXPORT semaphore {
 public:
  // A semaphore of `size` units, all free.
  explicit semaphore(std::int64_t size) noexcept : size_(size) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  // Takes n units, waiting as long as it takes. A request larger than the
  // size never succeeds: it blocks forever.
  void acquire(std::int64_t n = 1);
  // Takes n units, or gives up when ctx is done and returns ctx.err() (also
  // if ctx is done on entry, even if the units are free). Empty on success.
  [[nodiscard]] std::error_code acquire(const context& ctx, std::int64_t n = 1);
  // Takes n units only if that needs no waiting (and nobody waits).
  bool try_acquire(std::int64_t n = 1);
  // Gives back n units and serves the waiters that now fit, in order.
  void release(std::int64_t n = 1);

 private:
  struct waiter;
  waiter* grant_locked();
  static void wake(waiter* granted);
  static void on_cancel(void* w);

  std::int64_t size_;
  std::int64_t cur_ = 0;      // units held; guarded by mu_
  mutex mu_;
  waiter* head_ = nullptr;    // FIFO of waiters; guarded by mu_
  waiter* tail_ = nullptr;
};

}  // namespace goro
