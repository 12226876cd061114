// goro/sync.hpp — Go's sync package: Mutex, RWMutex, Once, Cond (and
// WaitGroup, from goro/wait_group.hpp).
//
//   goro::mutex mu;
//   { std::lock_guard lock(mu); ++counter; }          // Lockable: std locks work
//
//   goro::shared_mutex rw;
//   { std::shared_lock r(rw); read(); }              // RLock / RUnlock
//   { std::unique_lock w(rw); write(); }             // Lock / Unlock
//
//   goro::once init;
//   init.call([] { setup(); });                      // runs once; others wait for it
//
//   goro::cond ready(mu);                            // sync.NewCond(&mu)
//   { std::unique_lock lock(mu); while (!flag) ready.wait(); }
//
// Every blocking operation parks the calling goroutine (never its thread);
// called from a plain thread that is not a goroutine, it blocks that thread.
// The types are neither copyable nor movable (Go's "must not be copied after
// first use", enforced by the compiler), and need no destruction order: a
// default-constructed one is ready, like Go's zero values.
//
// Misuse that is a fatal error in Go ends the process the same way: the
// message below on stderr after "fatal error: ", exit status 2, no unwinding:
//   mutex::unlock of an unlocked mutex     "sync: unlock of unlocked mutex"
//   shared_mutex::unlock without the lock  "sync: Unlock of unlocked RWMutex"
//   shared_mutex::unlock_shared without it "sync: RUnlock of unlocked RWMutex"
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "goro/export.hpp"
#include "goro/wait_group.hpp"

namespace goro {

// Go's sync.Mutex. Not owned by a goroutine: any goroutine (or thread) may
// unlock a mutex another one locked. Not recursive.
//
// Go's algorithm: in normal mode a goroutine that finds the mutex locked
// spins briefly (multicore, more than one processor, another processor
// running, at most 4 rounds: Go's runtime_canSpin, except that a busy local
// run queue does not stop it), then queues; a woken waiter competes with
// newcomers and, if it loses, goes back to the front of the queue. A waiter
// that waited over 1 ms switches the mutex to starvation mode, where unlock
// hands the mutex straight to the first waiter and newcomers queue behind;
// it returns to normal mode when the waiter that gets it is the last one or
// waited less than 1 ms. (A plain thread spins under the same bound when the
// machine is multicore, then sleeps in the kernel.)
class GORO_EXPORT mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock() {
    std::int32_t old = 0;
    if (state_.compare_exchange_strong(old, locked_bit, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      return;
    // Free, in normal mode, with waiters queued: take it as lock_slow's first
    // step would, without the call (under contention this is the common case).
    if ((old & (locked_bit | starving_bit)) == 0 &&
        state_.compare_exchange_strong(old, old | locked_bit, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      return;
    lock_slow();
  }
  // Go's TryLock: never spins or blocks; fails if locked or starving.
  bool try_lock() noexcept {
    std::int32_t old = state_.load(std::memory_order_relaxed);
    if ((old & (locked_bit | starving_bit)) != 0) return false;
    return state_.compare_exchange_strong(old, old | locked_bit, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() {
    std::int32_t now = state_.fetch_sub(locked_bit, std::memory_order_release) - locked_bit;
    if (now == 0) return;
    // Normal mode and a waiter already woken (or a spinner about to take
    // it): nothing to do, as unlock_slow would find. An unlock of an
    // unlocked mutex borrows into the locked bit and goes to unlock_slow.
    if ((now & (locked_bit | starving_bit | woken_bit)) == woken_bit) return;
    unlock_slow(now);
  }

 private:
  static constexpr std::int32_t locked_bit = 1;
  static constexpr std::int32_t woken_bit = 2;
  static constexpr std::int32_t starving_bit = 4;
  static constexpr int waiter_shift = 3;  // the waiter count is state >> 3
  void lock_slow();
  void unlock_slow(std::int32_t now);

  std::atomic<std::int32_t> state_{0};
  std::atomic<std::uint32_t> sema_{0};  // waiters sleep here (src/sema)
};

// Go's sync.RWMutex: any number of readers or one writer. A writer that
// calls lock() blocks readers that arrive after it (writers cannot starve),
// and the readers that blocked meanwhile are released by its unlock()
// before the next writer gets the lock. A reader must not lock_shared()
// again while it holds a read lock (it would deadlock behind a waiting
// writer). Works with std::shared_lock, std::unique_lock, std::lock_guard.
class GORO_EXPORT shared_mutex {
 public:
  shared_mutex() = default;
  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;

  void lock();
  bool try_lock() noexcept;
  void unlock();
  void lock_shared() {
    if (reader_count_.fetch_add(1, std::memory_order_acquire) + 1 < 0) lock_shared_slow();
  }
  bool try_lock_shared() noexcept;
  void unlock_shared() {
    std::int32_t r = reader_count_.fetch_sub(1, std::memory_order_release) - 1;
    if (r < 0) unlock_shared_slow(r);
  }

  // Go's RLocker: a Lockable whose lock()/unlock() are this mutex's
  // lock_shared()/unlock_shared(). It refers to *this.
  class reader {
   public:
    explicit reader(shared_mutex& rw) noexcept : rw_(&rw) {}
    void lock() { rw_->lock_shared(); }
    bool try_lock() noexcept { return rw_->try_lock_shared(); }
    void unlock() { rw_->unlock_shared(); }

   private:
    shared_mutex* rw_;
  };
  reader rlocker() noexcept { return reader(*this); }

 private:
  static constexpr std::int32_t max_readers = 1 << 30;
  void lock_shared_slow();
  void unlock_shared_slow(std::int32_t r);

  mutex w_;                                   // held by a writer (pending or active)
  std::atomic<std::uint32_t> writer_sem_{0};  // a writer waits here for readers to leave
  std::atomic<std::uint32_t> reader_sem_{0};  // readers wait here for the writer
  std::atomic<std::int32_t> reader_count_{0};  // readers; -max_readers while a writer is in
  std::atomic<std::int32_t> reader_wait_{0};   // readers the pending writer waits for
};

// Go's sync.Once. call(f, args...) runs f(args...) exactly once per once
// object, even if called with different functions, and every call returns
// only after that first f has returned. An exception thrown by f propagates
// to its caller and counts as done (Go's TestOncePanic): later calls do
// nothing. Calling call() on the same object from inside f deadlocks.
class once {
 public:
  once() = default;
  once(const once&) = delete;
  once& operator=(const once&) = delete;

  template <class F, class... Args>
    requires std::invocable<F, Args...>
  void call(F&& f, Args&&... args) {
    if (done_.load(std::memory_order_acquire) != 0) return;  // the fast path, inlined
    call_slow(std::forward<F>(f), std::forward<Args>(args)...);
  }

 private:
  template <class F, class... Args>
  void call_slow(F&& f, Args&&... args) {
    std::lock_guard lock(m_);
    if (done_.load(std::memory_order_relaxed) != 0) return;
    struct mark_done {
      std::atomic<std::uint32_t>& done;
      ~mark_done() { done.store(1, std::memory_order_release); }
    } mark{done_};
    std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  std::atomic<std::uint32_t> done_{0};
  mutex m_;
};

namespace detail {

// Room for Go's notifyList (runtime/sema.go), the ticket-ordered waiters of
// a cond; its type and operations are private to src/sema.
struct notify_list_storage {
  alignas(8) unsigned char bytes[32];
};
GORO_EXPORT void notify_list_init(notify_list_storage* storage) noexcept;

template <class L>
concept basic_lockable = requires(L& l) {
  l.lock();
  l.unlock();
};

}  // namespace detail

// Go's sync.Cond on the BasicLockable it is given (a goro::mutex, a
// shared_mutex::reader, ...), which must outlive it.
//
//   std::unique_lock lock(mu);
//   while (!condition) c.wait();   // unlocks mu, parks, relocks mu
//
// signal() wakes the goroutine that has waited longest, broadcast() every
// goroutine waiting; both may be called with or without the lock held. A
// goroutine that starts waiting after a signal() is not woken by it, and
// cannot steal it from one that was already waiting; a signal() with nobody
// waiting is not remembered. Wake-ups are never spurious, but another
// goroutine may change the condition before the woken one relocks, so wait
// in a loop.
class GORO_EXPORT cond {
 public:
  template <detail::basic_lockable L>
  explicit cond(L& l) noexcept
      : lock_(std::addressof(l)),
        lock_fn_([](void* p) { static_cast<L*>(p)->lock(); }),
        unlock_fn_([](void* p) { static_cast<L*>(p)->unlock(); }) {
    detail::notify_list_init(&list_);
  }
  cond(const cond&) = delete;
  cond& operator=(const cond&) = delete;

  // Unlocks the lock, waits for a signal()/broadcast() that comes after this
  // call began, relocks. The lock must be held.
  void wait();
  template <class Pred>
  void wait(Pred pred) {
    while (!pred()) wait();
  }
  void signal() noexcept;
  void broadcast() noexcept;

 private:
  void* lock_;
  void (*lock_fn_)(void*);
  void (*unlock_fn_)(void*);
  detail::notify_list_storage list_;
};

}  // namespace goro
