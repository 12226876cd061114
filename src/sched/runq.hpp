// sched/runq.hpp — the run queues (Go's runq / globrunq).
//
// local_runq: a P's bounded ring of 256 runnable Gs. Single producer (the
// owning P pushes and pops at its own pace), many consumers (thieves take
// half from the head). head and tail only grow (mod 2^32); tail is written
// only by the owner (store-release), head moves by CAS (release), so an item
// is taken by exactly one consumer. Slots are atomics because a thief may read
// a slot that the owner is overwriting; the thief's CAS on head then fails and
// it discards what it read.
//
// global_runq: an unbounded FIFO of batches under a spinlock, for overflow of
// local queues (a batch of 129), yielded goroutines and goroutines created by
// threads that are not goroutines (batches of 1). A batch is a G list linked
// by G::schedlink whose first G carries the batch's tail, size and the next
// batch, so pushing and taking a batch are O(1) inside the lock. Its size is
// also kept in an atomic so that it can be checked without the lock.
//
// Lock order: global_runq's lock is taken after nothing else, except the
// scheduler's idle lock may be held around it (sched.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "os/spinlock.hpp"
#include "sched/g.hpp"

namespace goro::detail {

// An intrusive list of Gs, used to move batches between queues.
struct g_list {
  G* head = nullptr;
  G* tail = nullptr;
  std::int32_t size = 0;

  void push_back(G* g) {
    g->schedlink = nullptr;
    if (tail) tail->schedlink = g; else head = g;
    tail = g;
    ++size;
  }
  G* pop_front() {
    G* g = head;
    if (!g) return nullptr;
    head = g->schedlink;
    if (!head) tail = nullptr;
    g->schedlink = nullptr;
    --size;
    return g;
  }
  void append(g_list& other) {
    if (!other.head) return;
    if (tail) tail->schedlink = other.head; else head = other.head;
    tail = other.tail;
    size += other.size;
    other = {};
  }
};

// Takes one G (just_one) or the whole batch headed by `head` (non-null) in
// O(1); `head` becomes the batch's remainder or the next batch.
inline g_list take_from_batch(G*& head, bool just_one) {
  G* h = head;
  g_list out;
  if (just_one && h->batch_size > 1) {
    G* rest = h->schedlink;
    rest->batch_tail = h->batch_tail;
    rest->batch_size = h->batch_size - 1;
    rest->batch_next = h->batch_next;
    head = rest;
    h->schedlink = nullptr;
    out.head = out.tail = h;
    out.size = 1;
  } else {
    head = h->batch_next;
    out.head = h;
    out.tail = h->batch_tail;
    out.size = h->batch_size;
  }
  return out;
}

// Turns a non-empty list into a batch headed by its first G, linked to
// `next`; empties the list and returns the head.
inline G* make_batch(g_list& batch, G* next) {
  G* head = batch.head;
  head->batch_tail = batch.tail;
  head->batch_size = batch.size;
  head->batch_next = next;
  batch = {};
  return head;
}

// A stack of G batches (free G records), not synchronised: the owner locks.
// Batches are linked through their first G like global_runq's.
class batch_stack {
 public:
  bool empty() const { return top_ == nullptr; }
  void push_batch(g_list& batch) {
    if (batch.head == nullptr) return;
    top_ = make_batch(batch, top_);
  }
  // Takes one G (just_one) or the whole top batch; O(1).
  g_list pop_batch(bool just_one) {
    if (top_ == nullptr) return {};
    return take_from_batch(top_, just_one);
  }
 private:
  G* top_ = nullptr;
};

class global_runq {
 public:
  void push(G* g) {
    g->schedlink = nullptr;
    g_list one;
    one.push_back(g);
    push_batch(one);
  }
  // Appends a whole list in O(1), as one batch.
  void push_batch(g_list& batch) {
    if (batch.head == nullptr) return;
    std::int32_t n = batch.size;
    G* head = make_batch(batch, nullptr);
    std::lock_guard lock(lock_);
    if (last_) last_->batch_next = head; else first_ = head;
    last_ = head;
    size_.store(size_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Takes one G (just_one) or the whole first batch (at most what one push
  // put there), in O(1) under the lock; empty list if the queue is empty.
  g_list pop_batch(bool just_one) {
    std::lock_guard lock(lock_);
    G* head = first_;
    if (head == nullptr) return {};
    g_list out = take_from_batch(first_, just_one);
    if (first_ == nullptr) last_ = nullptr;
    else if (last_ == head) last_ = first_;
    size_.store(size_.load(std::memory_order_relaxed) - out.size, std::memory_order_relaxed);
    return out;
  }
  bool empty() const { return size_.load(std::memory_order_relaxed) == 0; }
  std::int32_t size() const { return size_.load(std::memory_order_relaxed); }
  // Checks emptiness under the queue's lock, and if empty runs f() still
  // holding it. A producer that pushes after this and then reads what f()
  // wrote is guaranteed to see it (the idle protocol in sched.hpp).
  template <class F>
  bool if_empty_locked(F&& f) {
    std::lock_guard lock(lock_);
    if (first_ != nullptr) return false;
    f();
    return true;
  }

 private:
  spinlock lock_;
  G* first_ = nullptr;  // first batch; guarded by lock_
  G* last_ = nullptr;   // last batch; guarded by lock_
  std::atomic<std::int32_t> size_{0};
};

class local_runq {
 public:
  static constexpr std::uint32_t capacity = 256;

  // Owner: appends g. If the ring is full, moves half of it plus g to `overflow`
  // (a batch for the global queue) and returns true; otherwise returns false.
  bool push(G* g, g_list& overflow) {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (t - h < capacity) {
        slots_[t % capacity].store(g, std::memory_order_relaxed);
        tail_.store(t + 1, std::memory_order_release);
        return false;
      }
      if (push_slow(g, h, t, overflow)) return true;
      // A thief took some: the ring has room now.
    }
  }

  // Owner: takes the oldest G, or null if empty.
  G* pop() {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (t == h) return nullptr;
      G* g = slots_[h % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release,
                                      std::memory_order_relaxed))
        return g;
    }
  }

  // Owner: the G that pop() would return next, left in place, if at least
  // `depth` are queued; else null (a thief may take it meanwhile: a hint).
  G* peek_if_deeper(std::uint32_t depth) const {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    return t - h < depth ? nullptr : slots_[h % capacity].load(std::memory_order_relaxed);
  }

  // Thief (any thread): moves half (rounded up) of `victim`'s Gs to the tail
  // of this queue (which must be owned by the caller) and returns one of them
  // to run, or null if the victim was empty.
  G* steal_from(local_runq& victim) {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    std::uint32_t n = victim.grab(slots_, t);
    if (n == 0) return nullptr;
    --n;
    G* g = slots_[(t + n) % capacity].load(std::memory_order_relaxed);
    if (n > 0) tail_.store(t + n, std::memory_order_release);
    return g;
  }

  // Approximate (exact for the owner when no thief runs).
  std::uint32_t size() const {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      if (h == head_.load(std::memory_order_acquire)) return t - h;
    }
  }
  bool empty() const { return size() == 0; }

  // True if neither the ring nor `runnext` holds a G (Go's runqempty). The
  // owner moves a G from runnext to the ring by swapping runnext and then
  // pushing at the tail; re-reading the tail after runnext makes sure such a
  // G is seen in one place or the other.
  bool empty_with(const std::atomic<G*>& runnext) const {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      G* next = runnext.load(std::memory_order_acquire);
      if (t == tail_.load(std::memory_order_acquire)) return h == t && next == nullptr;
    }
  }

 private:
  // Copies half of this queue into `batch` starting at index `batch_head`
  // (mod capacity) and consumes it; returns how many.
  std::uint32_t grab(std::atomic<G*>* batch, std::uint32_t batch_head) {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      std::uint32_t n = t - h;
      n = n - n / 2;
      if (n == 0) return 0;
      if (n > capacity / 2) continue;  // h and t read at different times: retry
      for (std::uint32_t i = 0; i < n; ++i) {
        G* g = slots_[(h + i) % capacity].load(std::memory_order_relaxed);
        batch[(batch_head + i) % capacity].store(g, std::memory_order_relaxed);
      }
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_release,
                                      std::memory_order_relaxed))
        return n;
    }
  }

  bool push_slow(G* g, std::uint32_t h, std::uint32_t t, g_list& overflow) {
    std::uint32_t n = (t - h) / 2;
    G* batch[capacity / 2];
    for (std::uint32_t i = 0; i < n; ++i)
      batch[i] = slots_[(h + i) % capacity].load(std::memory_order_relaxed);
    if (!head_.compare_exchange_strong(h, h + n, std::memory_order_release,
                                       std::memory_order_relaxed))
      return false;
    for (std::uint32_t i = 0; i < n; ++i) overflow.push_back(batch[i]);
    overflow.push_back(g);
    return true;
  }

  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::atomic<G*> slots_[capacity] = {};
};

}  // namespace goro::detail
