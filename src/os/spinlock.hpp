// os/spinlock.hpp — a lock for the runtime's short critical sections.
//
// Owns nothing; used where a critical section is a few pointer moves (the
// global run queue, free lists, semaphore buckets, notify lists) and a
// std::mutex would put the thread to sleep in the kernel on contention, which
// costs far more than the section itself. Test-and-test-and-set; after a
// bounded spin it yields the thread so that a descheduled holder can finish.
// spin_lock/spin_unlock run the same algorithm on a flag that lives in a
// structure whose layout is public (goro::cond's notify list).
#pragma once

#include <sched.h>

#include <atomic>

namespace goro::detail {

// One pause of a spin-wait loop (x86 PAUSE, aarch64 YIELD).
inline void cpu_relax() noexcept {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

inline void spin_lock(std::atomic<bool>& flag) noexcept {
  for (int spins = 0;; ++spins) {
    if (!flag.exchange(true, std::memory_order_acquire)) return;
    while (flag.load(std::memory_order_relaxed)) {
      if (++spins > 100) ::sched_yield();
      else cpu_relax();
    }
  }
}

inline void spin_unlock(std::atomic<bool>& flag) noexcept {
  flag.store(false, std::memory_order_release);
}

class spinlock {
 public:
  void lock() noexcept { spin_lock(flag_); }
  bool try_lock() noexcept { return !flag_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { spin_unlock(flag_); }

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace goro::detail
