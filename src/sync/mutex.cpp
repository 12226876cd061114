// sync/mutex.cpp — goro::mutex's slow paths (Go's sync/mutex.go); the fast
// paths (one CAS to lock, one atomic add to unlock) are inline in
// goro/sync.hpp.
//
// Owns: the mutex state word. Bits: locked (1), woken (2: a waiter has been
// woken or a spinner is about to take the lock, so unlock need not wake
// another), starving (4: starvation mode), and the number of goroutines
// queued on the semaphore in the bits above (state >> 3).
//
// Invariants (as in Go):
//  - in normal mode a woken waiter does not own the mutex: it competes, and
//    a loser queues again at the front (lifo) of the semaphore;
//  - in starvation mode ownership is handed off: unlock leaves the locked
//    bit clear and releases the semaphore with handoff; the waiter that gets
//    it sets locked and takes itself off the waiter count in one add, and
//    leaves starvation mode if it is the last waiter or waited < 1 ms;
//  - only the holder of `woken` (awoke) may clear it.
//
// Lock order: none of its own; waiting goes through the semaphore (its
// bucket lock is a leaf).
#include <thread>

#include "goro/runtime.hpp"
#include "goro/sync.hpp"
#include "os/spinlock.hpp"
#include "sched/sched.hpp"
#include "sema/sema.hpp"
#include "timer/timer.hpp"

namespace goro {
namespace detail {
namespace {

// A waiter that waited longer than this switches the mutex to starvation mode.
constexpr std::int64_t starvation_threshold_ns = 1'000'000;

// Go's sync_runtime_canSpin, also for plain threads (see goro/sync.hpp).
bool sync_can_spin(int iter) {
  if (current_g() != nullptr) return current_runtime()->sync_can_spin(iter);
  static const bool multicore = std::thread::hardware_concurrency() > 1;
  return iter < 4 && multicore;
}

// Go's sync_runtime_doSpin: procyield(30).
void sync_do_spin() {
  for (int i = 0; i < 30; ++i) cpu_relax();
}

}  // namespace
}  // namespace detail

void mutex::lock_slow() {
  std::int64_t wait_start = 0;
  bool starving = false;
  bool awoke = false;
  int iter = 0;
  std::int32_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Spin only in normal mode while the mutex is locked: in starvation mode
    // ownership goes to the waiters, so spinning cannot win it.
    if ((old & (locked_bit | starving_bit)) == locked_bit && detail::sync_can_spin(iter)) {
      // Tell unlock not to wake another waiter: we are about to take it.
      if (!awoke && (old & woken_bit) == 0 && (old >> waiter_shift) != 0 &&
          state_.compare_exchange_strong(old, old | woken_bit, std::memory_order_relaxed))
        awoke = true;
      detail::sync_do_spin();
      ++iter;
      old = state_.load(std::memory_order_relaxed);
      continue;
    }
    std::int32_t next = old;
    // Newcomers do not take a starving mutex: they queue.
    if ((old & starving_bit) == 0) next |= locked_bit;
    if ((old & (locked_bit | starving_bit)) != 0) next += 1 << waiter_shift;
    // Switch to starvation mode, but only if the mutex is still locked
    // (an unlocked one would have no unlock to hand it off).
    if (starving && (old & locked_bit) != 0) next |= starving_bit;
    if (awoke) {
      if ((next & woken_bit) == 0) detail::fatal("sync: inconsistent mutex state");
      next &= ~woken_bit;
    }
    if (!state_.compare_exchange_weak(old, next, std::memory_order_acquire,
                                      std::memory_order_relaxed))
      continue;  // old was reloaded
    if ((old & (locked_bit | starving_bit)) == 0) return;  // locked with the CAS
    // Waited before: back to the front of the queue.
    const bool lifo = wait_start != 0;
    if (wait_start == 0) wait_start = detail::nanotime();
    detail::sem_acquire(&sema_, "sync.Mutex.Lock", lifo);
    starving = starving || detail::nanotime() - wait_start > detail::starvation_threshold_ns;
    old = state_.load(std::memory_order_relaxed);
    if ((old & starving_bit) != 0) {
      // Handed off to us: the mutex is ours, with locked and woken clear.
      if ((old & (locked_bit | woken_bit)) != 0 || (old >> waiter_shift) == 0)
        detail::fatal("sync: inconsistent mutex state");
      std::int32_t delta = locked_bit - (1 << waiter_shift);
      if (!starving || (old >> waiter_shift) == 1) delta -= starving_bit;  // leave starvation mode
      state_.fetch_add(delta, std::memory_order_acquire);
      return;
    }
    awoke = true;
    iter = 0;
  }
}

void mutex::unlock_slow(std::int32_t now) {
  if (((now + locked_bit) & locked_bit) == 0) detail::fatal("sync: unlock of unlocked mutex");
  if ((now & starving_bit) != 0) {
    // Hand the mutex to the first waiter; it runs before we continue.
    detail::sem_release(&sema_, true);
    return;
  }
  std::int32_t old = now;
  for (;;) {
    // No waiters, or someone already woken/spinning, or locked again: done.
    if ((old >> waiter_shift) == 0 || (old & (locked_bit | woken_bit | starving_bit)) != 0)
      return;
    std::int32_t next = (old - (1 << waiter_shift)) | woken_bit;
    if (state_.compare_exchange_weak(old, next, std::memory_order_relaxed)) {
      detail::sem_release(&sema_, false);
      return;
    }
  }
}

}  // namespace goro
