// os/futex_lock.hpp — a lock that spins briefly and then sleeps (Go's
// runtime lock, lock_futex.go).
//
// Owns nothing; used for channel locks, which both processors may hammer at
// once (several producers and consumers on one channel). A plain spinlock
// then keeps both cores fighting over the lock's cache line; sleeping the
// loser in the kernel after a few short spins lets the holder run alone with
// a hot cache, which moves more items per second, at the price of a futex
// wake for the unlocker when someone sleeps. Uncontended, lock is one CAS
// and unlock one exchange.
//
// States: 0 unlocked, 1 locked, 2 locked and someone may sleep.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>

#include "os/futex.hpp"
#include "os/spinlock.hpp"  // cpu_relax

namespace goro::detail {

class futex_lock {
 public:
  void lock() noexcept {
    std::uint32_t expected = 0;
    if (word_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) [[likely]]
      return;
    lock_slow();
  }
  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    return word_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
  }
  void unlock() noexcept {
    if (word_.exchange(0, std::memory_order_release) == 2) [[unlikely]]
      os::futex_wake(&word_);
  }

 private:
  void lock_slow() noexcept {
    // Go: 4 rounds of 30 pauses, one sched_yield, then sleep.
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < (round < 4 ? 30 : 0); ++i) cpu_relax();
      if (round == 4) ::sched_yield();
      std::uint32_t expected = 0;
      if (word_.load(std::memory_order_relaxed) == 0 &&
          word_.compare_exchange_strong(expected, 1, std::memory_order_acquire))
        return;
    }
    // Sleep; whoever takes the lock from here marks it 2 (it may have sleepers).
    while (word_.exchange(2, std::memory_order_acquire) != 0) os::futex_wait(&word_, 2);
  }
  std::atomic<std::uint32_t> word_{0};
};

}  // namespace goro::detail
