// os/membarrier.hpp — asymmetric memory barriers (Linux membarrier(2)).
//
// Owns: the fence pair of the scheduler's retake handshake (sched.hpp). The
// frequent side (every goroutine entering the runtime) pays only a compiler
// barrier; the rare side (sysmon, at most every 20 us) pays a membarrier
// syscall, which runs a full barrier on every CPU running one of our threads.
// Together they order "store A; load B" against "store B; load A" as two
// seq_cst fences would (Dekker). Without kernel support (before Linux 4.14)
// and under ThreadSanitizer, both sides fall back to seq_cst fences.
#pragma once

#include <atomic>

#include "debug/sanitizer.hpp"  // GORO_TSAN

namespace goro::detail::os {

// Registers the process for private expedited membarriers, once.
void membarrier_init() noexcept;
// Set by membarrier_init if the kernel supports it (read on every light barrier).
inline std::atomic<bool> membarrier_ok{false};
inline bool membarrier_usable() noexcept { return membarrier_ok.load(std::memory_order_relaxed); }

// The frequent side: after a store, before a load that must not pass it.
inline void light_barrier() noexcept {
#if GORO_TSAN
  std::atomic_thread_fence(std::memory_order_seq_cst);
#else
  if (membarrier_usable()) std::atomic_signal_fence(std::memory_order_seq_cst);
  else std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// The rare side: a full barrier on this thread and on every running thread
// of the process.
void heavy_barrier() noexcept;

}  // namespace goro::detail::os
