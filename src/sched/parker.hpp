// sched/parker.hpp — blocking "whoever is calling": a goroutine parks, a plain
// thread sleeps on a futex. Every waiting primitive (sema, channels, select)
// records a parker in its waiter record and calls block(); the party that
// completes the wait calls wake().
//
// Invariant: block()'s unlock(arg) runs only after the caller can no longer
// run on its stack (for a goroutine: after it has switched away), so a waker
// that needs the same lock cannot wake it too early. wake() may run on any
// thread, and at most once per block(). Parkers made in the same context are
// interchangeable: select blocks on one and is woken through another.
#pragma once

#include <atomic>
#include <cstdint>

#include "os/futex.hpp"
#include "sched/sched.hpp"

namespace goro::detail {

class parker {
 public:
  // Captures the calling context (goroutine or thread).
  parker() : g_(current_g()), word_(g_ ? nullptr : &thread_word()) {}

  bool on_goroutine() const { return g_ != nullptr; }
  // The blocked goroutine (null for a thread), for a waker that readies a
  // batch at once (the network poller) instead of calling wake().
  G* goroutine() const { return g_; }

  // Blocks until wake(); unlock(arg) releases whatever lock guarded the
  // waiter's registration. unlink(unlink_arg), if given, takes the waiter's
  // records out of every shared structure: the runtime calls it for a
  // goroutine still blocked when run() ends, whose stack (where the records
  // live) is about to be freed.
  void block(void (*unlock)(void*), void* arg, const char* wait_reason,
             void (*unlink)(void*) = nullptr, void* unlink_arg = nullptr) {
    if (g_ != nullptr) {
      struct ctx { void (*unlock)(void*); void* arg; } c{unlock, arg};
      g_->unlink_wait = unlink;
      g_->unlink_arg = unlink_arg;
      current_runtime()->park(
          [](void* p, G*) {
            auto* c = static_cast<ctx*>(p);
            c->unlock(c->arg);
            return true;
          },
          &c, wait_reason);
      g_->unlink_wait = nullptr;
      return;
    }
    word_->store(0, std::memory_order_relaxed);
    unlock(arg);
    while (word_->load(std::memory_order_acquire) == 0) os::futex_wait(word_, 0);
  }

  // Makes the blocked caller runnable again. Call after every write the
  // woken side must see (the wake is a release).
  void wake() {
    if (g_ != nullptr) {
      current_runtime()->ready(g_);
      return;
    }
    std::atomic<std::uint32_t>* word = word_;  // *this may vanish after the store
    word->store(1, std::memory_order_release);
    os::futex_wake(word);
  }

 private:
  static std::atomic<std::uint32_t>& thread_word() {
    static thread_local std::atomic<std::uint32_t> word{0};
    return word;
  }
  G* g_;
  std::atomic<std::uint32_t>* word_;  // a plain thread's wake-up word
};

}  // namespace goro::detail
