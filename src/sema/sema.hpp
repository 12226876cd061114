// sema/sema.hpp — the semaphore every blocking sync primitive is built on
// (Go's runtime/sema.go), and the notify list of goro::cond.
//
// Owns: address-keyed wait queues. sem_acquire(addr) waits until *addr > 0
// and decrements it; sem_release(addr) increments it and wakes one waiter of
// that address. Goroutines park (the scheduler's park/ready); plain threads
// that are not goroutines block on a futex of their own.
//
// Design (Go's semaRoot): 251 buckets (semTabSize), each a locked treap
// keyed by address, whose nodes are the first waiter of each address; the
// other waiters of that address hang off it in a list. So finding an
// address's queue is O(log n) in the number of distinct addresses waited on
// in the bucket, and queueing or dequeueing is O(1) after that. Waiter
// records live on the waiters' own stacks, so waiting never allocates. Each
// bucket counts its waiters (nwait) so that a release with nobody waiting
// costs one atomic add and one load.
//
// Order: waiters of one address are woken FIFO, except that a waiter that
// asks for it (lifo: a sync.Mutex waiter that was woken, lost the race and
// waits again) goes to the front of its address's queue.
// Handoff: sem_release(addr, true) gives the count straight to the woken
// waiter (it cannot be stolen by a goroutine that arrives later), and a
// releasing goroutine then yields its P to it (Go's goyield), so the waiter
// runs before the releaser continues.
//
// Notify list (Go's notifyList): ticket-ordered waiters of a goro::cond.
// notify_list_add takes a ticket, notify_list_wait parks until that ticket
// is notified (at once if it already was); notify_one wakes the oldest
// ticket not yet notified, notify_all every ticket taken so far. A ticket
// taken after a notification is not woken by it.
//
// Invariants: a waiter is in its bucket's treap (or in a list hanging off it)
// exactly while its owner waits; the lock is released by the park commit,
// after the goroutine is off its stack, so a release cannot ready a goroutine
// that is still running. The same holds for notify lists.
//
// Locks: each bucket and each notify list has a futex_lock (Go's runtime
// lock: a few short spins, then sleep), not a spinlock: a parking goroutine
// holds it until its park commits, and when both processors park waiters on
// one cond or mutex, a spinning loser would fight the holder for its cache
// line (Cond32 at procs=2 took 1.6x as long with spinlocks).
//
// Lock order: a bucket lock and a notify list's lock are leaves. Waiters are
// readied only after the lock is released, so no scheduler lock is ever taken
// under one.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>

#include "goro/sync.hpp"
#include "os/futex_lock.hpp"

namespace goro::detail {

struct notify_waiter;  // notify_list.cpp

// Go's notifyList; lives in a goro::cond's notify_list_storage.
struct notify_list {
  std::atomic<std::uint32_t> wait{0};    // the next ticket to hand out
  std::atomic<std::uint32_t> notify{0};  // the next ticket to notify
  futex_lock lock;                       // guards head and tail
  notify_waiter* head = nullptr;         // parked waiters, in the order they parked
  notify_waiter* tail = nullptr;
};
static_assert(sizeof(notify_list) <= sizeof(notify_list_storage) &&
              alignof(notify_list) <= alignof(notify_list_storage));

inline notify_list* as_notify_list(notify_list_storage* s) noexcept {
  return std::launder(reinterpret_cast<notify_list*>(s->bytes));
}

// lifo: queue at the front of addr's waiters (see above).
void sem_acquire(std::atomic<std::uint32_t>* addr, const char* wait_reason, bool lifo = false);
// handoff: the woken waiter is given the count directly, and a releasing
// goroutine yields to it.
void sem_release(std::atomic<std::uint32_t>* addr, bool handoff = false);
// Waiters in addr's bucket (Go's SemNwait, for tests).
std::uint32_t sem_nwait(const std::atomic<std::uint32_t>* addr) noexcept;

// Go's notifyListAdd / Wait / NotifyOne / NotifyAll (notify_list.cpp).
std::uint32_t notify_list_add(notify_list* l) noexcept;
void notify_list_wait(notify_list* l, std::uint32_t ticket, const char* wait_reason);
void notify_list_notify_one(notify_list* l) noexcept;
void notify_list_notify_all(notify_list* l) noexcept;

}  // namespace goro::detail
