// chan/chan.hpp — the type-erased channel (Go's runtime/chan.go hchan) and
// the waiter records that select shares with it.
//
// Owns: the buffer, the queues of blocked senders and receivers, and the
// closed flag of every channel. The templates in goro/chan.hpp only say how
// to move and destroy one element (elem_ops).
//
// Invariants (as in chan.go), all under `lock`:
//  - at least one of sendq and recvq is empty, except for an unbuffered
//    channel with a single goroutine blocked in select on both its send and
//    its receive (a select never matches itself);
//  - for a buffered channel: qcount > 0 implies recvq is empty, and
//    qcount < cap implies sendq is empty.
// A value goes straight from a sender to a waiting receiver (and from a
// waiting sender to a receiver), never through the buffer when someone waits;
// a receive from a full buffer with waiting senders takes the oldest value and
// moves the first waiting sender's value into the freed slot, which keeps
// FIFO order across the buffer and the queue.
//
// Waking: the operation that completes a waiter's communication writes the
// value and `success`, unlinks it, releases the channel lock and then wakes
// it (parker::wake). A waiter that belongs to a select is claimed first with
// one CAS on the select's `done` word; a waiter whose select was already won
// elsewhere is skipped (and unlinked) by dequeue.
//
// Lock order: channel locks are leaves with respect to the scheduler (no
// scheduler lock is taken under one: waking happens after unlocking). select
// holds several channel locks at once, always in ascending address order; a
// channel that appears in several cases is locked once.
//
// Non-blocking fast paths (try_send/try_recv on a channel that is not ready)
// do not lock: they read `closed` and the counts atomically, in the order
// chan.go explains, and never report "not ready" for a channel that was ready
// during the whole call.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "goro/chan.hpp"
#include "os/futex_lock.hpp"
#include "os/spinlock.hpp"
#include "sched/parker.hpp"

namespace goro::detail {

struct waiter;

// Shared by every waiter of one select: the first completer CASes done 0 -> 1.
struct select_state {
  std::atomic<std::uint32_t> done{0};
  waiter* winner = nullptr;  // written by the CAS winner before it wakes the select
};

struct wait_queue;

// A blocked send or receive (Go's sudog). Lives on the waiter's stack.
struct waiter {
  waiter() = default;
  explicit waiter(const parker& p) : who(p) {}  // select: one capture for all its cases
  parker who;                    // captured when constructed: construct it in the waiting context
  void* elem = nullptr;          // send: the value to move from; recv: raw storage to construct in
  chan_core* c = nullptr;
  wait_queue* queue = nullptr;   // the queue it is linked in, or null
  waiter* next = nullptr;
  waiter* prev = nullptr;
  select_state* sel = nullptr;   // non-null: part of a select
  int case_index = -1;
  bool success = false;         // true: communicated; false: woken by close
};

// A FIFO of waiters, doubly linked so that select can unlink in O(1).
// Guarded by the channel lock; `head` is atomic only so that non-blocking
// operations can check emptiness without the lock.
struct wait_queue {
  std::atomic<waiter*> head{nullptr};
  waiter* last = nullptr;

  waiter* first() const { return head.load(std::memory_order_relaxed); }
  bool empty() const { return first() == nullptr; }
  void enqueue(waiter* w) {
    w->queue = this;
    w->next = nullptr;
    w->prev = last;
    if (last) last->next = w; else head.store(w, std::memory_order_relaxed);
    last = w;
  }
  // Unlinks w if it is still queued here (select removes its waiters from
  // every queue, and some were already dequeued by their completer).
  void remove(waiter* w) {
    if (w->queue != this) return;
    if (w->prev) w->prev->next = w->next; else head.store(w->next, std::memory_order_relaxed);
    if (w->next) w->next->prev = w->prev; else last = w->prev;
    w->next = w->prev = nullptr;
    w->queue = nullptr;
  }
  // The first waiter that can still be completed (claims selects), or null.
  waiter* dequeue() {
    while (waiter* w = first()) {
      remove(w);
      if (w->sel == nullptr) return w;
      std::uint32_t expected = 0;
      if (w->sel->done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        w->sel->winner = w;
        return w;
      }
    }
    return nullptr;
  }
};

struct chan_core {
  chan_core(const elem_ops* ops, std::uint32_t cap, std::uint16_t buf_offset)
      : buf_offset(buf_offset), cap(cap), ops(ops) {}

  // 72 bytes, so that with malloc's header a channel takes an 80-byte chunk
  // (a parked goroutine's budget counts its channel).
  futex_lock lock;
  std::atomic<std::uint32_t> refs{1};     // handles
  std::atomic<bool> closed{false};        // written under lock; read lock-free
  bool hide_buffer = false;               // len() and cap() report 0 (timer channels)
  const std::uint16_t buf_offset;         // the buffer's offset from this
  const std::uint32_t cap;
  const elem_ops* const ops;
  std::atomic<std::uint32_t> qcount{0};   // written under lock; read lock-free
  std::uint32_t sendx = 0;                // guarded by lock
  std::uint32_t recvx = 0;                // guarded by lock
  wait_queue recvq;                       // guarded by lock
  wait_queue sendq;                       // guarded by lock

  std::size_t elem_size() const { return ops->size; }
  void* slot(std::size_t i) const {
    return const_cast<char*>(reinterpret_cast<const char*>(this)) + buf_offset + i * ops->size;
  }
  // For the lock-free "would block" checks of non-blocking operations.
  bool full() const {
    if (cap == 0) return recvq.empty();
    return qcount.load(std::memory_order_relaxed) == cap;
  }
  bool empty() const {
    if (cap == 0) return sendq.empty();
    return qcount.load(std::memory_order_relaxed) == 0;
  }
  // A send or receive would block now: open, and full or empty. closed is
  // read after full/empty: if it is still open then, it was open and
  // full/empty at once.
  bool send_would_block() const { return full() && !closed.load(std::memory_order_acquire); }
  bool recv_would_block() const { return empty() && !closed.load(std::memory_order_acquire); }
};
static_assert(sizeof(chan_core) <= 72, "a channel fits an 80-byte malloc chunk");

// The communication steps shared by channel operations and select, called
// with c->lock held (which they keep). The caller then unlocks and wakes w.
// Completes the send of *src to receiver w (dequeued from c->recvq).
void transfer_to_receiver(chan_core* c, waiter* w, void* src);
// Completes a receive into dst from sender w (dequeued from c->sendq).
void transfer_from_sender(chan_core* c, waiter* w, void* dst);
void buffer_put(chan_core* c, void* src);   // needs qcount < cap
void buffer_take(chan_core* c, void* dst);  // needs qcount > 0

[[noreturn]] void block_forever(const char* wait_reason);
// Makes len() and cap() report 0 (Go 1.23 timer channels); call before sharing.
void chan_hide_buffer(chan_core* c) noexcept;

}  // namespace goro::detail
