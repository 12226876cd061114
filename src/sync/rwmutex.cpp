// sync/rwmutex.cpp — goro::shared_mutex (Go's sync/rwmutex.go); the reader
// fast paths are inline in goro/sync.hpp.
//
// Owns: reader_count (readers holding or waiting; a writer subtracts
// max_readers = 2^30 to announce itself, so it is negative while a writer is
// pending or active), reader_wait (readers still inside that the pending
// writer waits for), and the two semaphores.
//
// Invariants: at most one writer is past w_ (a goro::mutex held for the
// whole write section); a reader that finds reader_count negative sleeps on
// reader_sem until the writer's unlock, which releases exactly as many
// readers as had arrived (its return value) before it releases w_, so those
// readers run before the next writer; the last reader to leave while a
// writer is pending releases writer_sem.
//
// Lock order: w_ (a goro::mutex) is taken only by writers, before anything
// else; waiting goes through the semaphore.
#include "goro/runtime.hpp"
#include "goro/sync.hpp"
#include "sema/sema.hpp"

namespace goro {

void shared_mutex::lock_shared_slow() {
  // A writer is pending or active: wait for its unlock.
  detail::sem_acquire(&reader_sem_, "sync.RWMutex.RLock");
}

bool shared_mutex::try_lock_shared() noexcept {
  std::int32_t c = reader_count_.load(std::memory_order_relaxed);
  for (;;) {
    if (c < 0) return false;
    if (reader_count_.compare_exchange_weak(c, c + 1, std::memory_order_acquire,
                                            std::memory_order_relaxed))
      return true;
  }
}

void shared_mutex::unlock_shared_slow(std::int32_t r) {
  if (r + 1 == 0 || r + 1 == -max_readers) detail::fatal("sync: RUnlock of unlocked RWMutex");
  // A writer is pending: the last reader to leave lets it in.
  if (reader_wait_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0)
    detail::sem_release(&writer_sem_);
}

void shared_mutex::lock() {
  w_.lock();  // first, against other writers
  // Announce the writer; r is the number of readers inside.
  std::int32_t r = reader_count_.fetch_sub(max_readers, std::memory_order_acq_rel);
  if (r != 0 && reader_wait_.fetch_add(r, std::memory_order_acq_rel) + r != 0)
    detail::sem_acquire(&writer_sem_, "sync.RWMutex.Lock");
}

bool shared_mutex::try_lock() noexcept {
  if (!w_.try_lock()) return false;
  std::int32_t none = 0;
  if (!reader_count_.compare_exchange_strong(none, -max_readers, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
    w_.unlock();
    return false;
  }
  return true;
}

void shared_mutex::unlock() {
  // Announce to readers there is no active writer.
  std::int32_t r = reader_count_.fetch_add(max_readers, std::memory_order_acq_rel) + max_readers;
  if (r >= max_readers) detail::fatal("sync: Unlock of unlocked RWMutex");
  // Release the readers that blocked meanwhile, then allow other writers.
  for (std::int32_t i = 0; i < r; ++i) detail::sem_release(&reader_sem_);
  w_.unlock();
}

}  // namespace goro
