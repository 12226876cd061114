// timer/timer.hpp — per-P timer heaps (Go's runtime/time.go).
//
// Owns: the 4-ary min-heaps of pending timers, one per P (each with a FIFO
// beside it for sleep's timers, which arrive in fire-time order), and
// running the timers that are due. What a timer does when it fires is its
// own callback (wake a sleeping goroutine, send on a channel, start a
// goroutine).
//
// Who runs timers: the scheduler. An M runs its own P's due timers on g0 at
// the top of every find_runnable round, and the other Ps' only when it has
// no local work (Go's timer stealing: a P whose thread is busy in a long
// goroutine does not hold its timers back); an idle M sleeps only until the
// earliest timer of any P. A goroutine that parks, yields or exits while a
// timer of its P is due has them run in the post-switch of the context it
// switches to, so always-ready goroutines cannot starve timers (Go's
// TestTimerFairness). Callbacks never run on a parking goroutine's stack,
// where channel locks may still be held.
//
// Invariants: a timer is in at most one heap (its array or, if never
// removed and one-shot, its FIFO of non-decreasing `when`); for a removable
// timer, `index` >= 0 exactly while it is in `heap`'s array;
// heap->next_when is the earliest `when` in the heap or its FIFO, or 0 if
// both are empty. (A long sleep at a FIFO's tail sends shorter ones to the
// heap until it fires: still in order, only without the FIFO's speed.)
// A callback must not block.
//
// Lock order: a timer owner's own lock (time.cpp's timer_state::mu) ->
// timer_heap::lock -> channel locks -> scheduler locks. Callbacks run under
// the heap lock and must not touch a timer heap.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "os/spinlock.hpp"

namespace goro::detail {

// Nanoseconds on the monotonic clock (std::chrono::steady_clock).
std::int64_t nanotime() noexcept;

struct timer_heap;

struct timer {
  std::int64_t when = 0;     // fire time (nanotime); guarded by heap lock while in a heap
  std::int64_t period = 0;   // > 0: re-armed every period after firing (tickers)
  // Runs with the heap's lock held, so a remove() that returns has either
  // prevented the firing or waited for it to finish: after stop, nothing of
  // the timer runs any more. A one-shot timer may free itself here. `arg`
  // is the timer's arg, kept beside it in the FIFO: a sleep's timer fires
  // without its timer (on a cold goroutine stack) being read at all.
  void (*fire)(timer* t, void* arg, std::int64_t now) = nullptr;
  void* arg = nullptr;
  // Called for a timer still pending when its runtime ends (may be null).
  void (*discard)(timer* t) = nullptr;
  // The heap it is (or last was) in: set by add(), cleared when its runtime
  // discards it. Kept after firing, so that a remove() racing the firing
  // waits for it under the heap's lock. A timer that outlives its runtime
  // after firing (a socket's deadline) must not be removed from another
  // runtime: its owner checks runtime::id() (netpoll/poll_desc.cpp).
  std::atomic<timer_heap*> heap{nullptr};
  std::int32_t index = -1;      // guarded by heap->lock; kept only if removable
  // Whether remove() may be called: only then does the heap keep `index`
  // up to date (a write into the timer at every sift step, a cache miss for
  // timers on goroutine stacks). sleep()'s timers are never removed.
  bool removable = true;
};

struct timer_heap {
  spinlock lock;
  // Guarded by lock: a 4-ary heap on when. The fire time is kept beside the
  // pointer so that sifting never touches the timers themselves (sleepers
  // live on their goroutines' stacks: one cache miss each).
  struct entry {
    std::int64_t when;
    timer* t;
    bool track;  // t->removable, kept here so that sifting does not read t
  };
  std::vector<entry> items;
  // Guarded by lock: one-shot timers that are never removed (sleep's), in
  // the order of their `when`, which is non-decreasing: a timer goes here
  // when its `when` is at least the last one's, else into the heap. Sleeps
  // of one duration arrive in that order, and take O(1) instead of a sift
  // through the heap each way. fifo[fifo_head..] is pending.
  struct fifo_entry {
    std::int64_t when;
    timer* t;
    void (*fire)(timer* t, void* arg, std::int64_t now);  // t's, copied
    void* arg;                                            // t's, copied
  };
  std::vector<fifo_entry> fifo;
  std::size_t fifo_head = 0;
  std::atomic<std::int64_t> next_when{0};  // earliest when, 0 if none

  void add(timer* t);
  // Removes t if it is pending here; returns whether it was.
  bool remove(timer* t);
  // Runs every timer due at `now`; returns how many ran.
  int run_due(std::int64_t now);
  // Removes every timer, calling its discard hook (runtime teardown).
  void discard_all();
  bool due(std::int64_t now) const {
    std::int64_t w = next_when.load(std::memory_order_acquire);
    return w != 0 && w <= now;
  }

 private:
  void push_locked(timer* t);
  void remove_at_locked(std::size_t i);
  void place(std::size_t i, const entry& e);
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void publish_next_locked();
  void pop_fifo_locked();
};

}  // namespace goro::detail
