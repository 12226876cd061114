// os/spinlock.hpp — a lock for the runtime's short critical sections.
//
// Owns nothing; used where a critical section is a few pointer moves (the
// global run queue, free lists) and a std::mutex would put the thread to
// sleep in the kernel on contention, which costs far more than the section
// itself. Test-and-test-and-set; after a bounded spin it yields the thread
// so that a descheduled holder can finish. cpu_relax is the one pause of a
// spin-wait loop (the scheduler's and sync.Mutex's spinning use it too).
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

class spinlock {
 public:
  void lock() noexcept {
    for (int spins = 0;; ++spins) {
      if (!flag_.exchange(true, std::memory_order_acquire)) return;
      while (flag_.load(std::memory_order_relaxed)) {
        if (++spins > 100) ::sched_yield();
        else cpu_relax();
      }
    }
  }
  bool try_lock() noexcept { return !flag_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace goro::detail
