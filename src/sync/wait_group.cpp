// sync/wait_group.cpp — Go's sync.WaitGroup on the runtime semaphore.
//
// state_: counter in the high 32 bits, waiter count in the low 32 bits, so
// that add() and wait() agree on both with one atomic operation. When the
// counter drops to zero with waiters, add() resets the state and releases the
// semaphore once per waiter.
#include "goro/wait_group.hpp"

#include "goro/panic.hpp"
#include "sema/sema.hpp"

namespace goro {

void wait_group::add(int delta) {
  std::uint64_t state =
      state_.fetch_add(static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)) << 32,
                       std::memory_order_acq_rel) +
      (static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)) << 32);
  auto counter = static_cast<std::int32_t>(state >> 32);
  auto waiters = static_cast<std::uint32_t>(state);
  if (counter < 0) throw panic_error("sync: negative WaitGroup counter");
  if (waiters != 0 && delta > 0 && counter == delta)
    throw panic_error("sync: WaitGroup misuse: Add called concurrently with Wait");
  if (counter > 0 || waiters == 0) return;
  // counter == 0 and waiters > 0: nobody may touch the state now but us.
  if (state_.load(std::memory_order_relaxed) != state)
    throw panic_error("sync: WaitGroup misuse: Add called concurrently with Wait");
  state_.store(0, std::memory_order_relaxed);
  for (; waiters != 0; --waiters) detail::sem_release(&sema_);
}

void wait_group::wait() {
  std::uint64_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((state >> 32) == 0) return;
    if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel)) {
      detail::sem_acquire(&sema_, "sync.WaitGroup.Wait");
      if (state_.load(std::memory_order_acquire) != 0)
        throw panic_error("sync: WaitGroup is reused before previous Wait has returned");
      return;
    }
  }
}

}  // namespace goro
