// chan/select.cpp — Go's selectgo (runtime/select.go).
//
// Owns the select algorithm; the channel state and the waiter records are
// chan.hpp's. Steps:
//  1. poll order: a uniformly random permutation of the non-nil cases;
//     lock order: the same cases sorted by channel address.
//  2. pass 0: if a case looks ready (read without locks), try it under its
//     own lock only, and return if it proceeds;
//     then lock every distinct channel in lock order;
//  3. pass 1: in poll order, take the first case that can proceed now;
//     else return -1 if there is a default case;
//  4. pass 2: enqueue one waiter per case (all sharing one select_state) and
//     park; the commit unlocks every channel;
//  5. woken: the completer has claimed one waiter (CAS on done), dequeued
//     it and recorded it as the winner; unlink the other waiters, each
//     under its own channel's lock (Go relocks every channel), and report
//     the winner.
// Waiter records live in the caller's case descriptors, so a select never
// allocates. Lock order: channel locks in ascending address order only.
#include <algorithm>
#include <new>

#include "chan/chan.hpp"
#include "goro/panic.hpp"
#include "goro/select.hpp"

namespace goro::detail {

static_assert(sizeof(waiter) <= sizeof(select_case_desc::waiter_storage));
static_assert(alignof(waiter) <= 8);

namespace {

struct locked_set {
  select_case_desc* cases;
  const std::uint16_t* order;  // lock order (pass 0: the one case tried)
  int n;

  void lock() const {
    chan_core* prev = nullptr;
    for (int k = 0; k < n; ++k) {
      chan_core* c = cases[order[k]].c;
      if (c != prev) c->lock.lock();
      prev = c;
    }
  }
  // As Go's selunlock: in reverse, so that the last lock released is the
  // first one. This runs as the park commit, on another stack, and reads
  // the select's frame: once a lock is released, a completer may wake the
  // select, which then resumes on another thread. Its unlink_losers starts
  // with the lowest channel, where only losers wait (the winner was claimed
  // on a channel already released), so it waits there until this loop has
  // released that lock, its last step; nothing of *this is read after it.
  // (If the winner is on the lowest channel, it was claimed after that.)
  void unlock() const {
    select_case_desc* cs = cases;
    const std::uint16_t* ord = order;
    for (int k = n - 1; k >= 0; --k) {
      chan_core* c = cs[ord[k]].c;
      if (k > 0 && cs[ord[k - 1]].c == c) continue;  // a duplicate: released with its first
      c->lock.unlock();
    }
  }
  // Takes every waiter of this select out of its queue, all locks held (the
  // runtime's teardown of a parked select).
  void unlink_all() const;
  // After the wake-up: takes the waiters other than the winner out of their
  // queues, one channel at a time (a removal needs only its own channel's
  // lock). The completer dequeued the winner before waking us, so the
  // winner's channel is not locked at all unless another case waits there.
  void unlink_losers(const waiter* winner) const;
};

waiter* waiter_of(select_case_desc& d) {
  return std::launder(reinterpret_cast<waiter*>(d.waiter_storage));
}

void locked_set::unlink_all() const {
  lock();
  for (int k = 0; k < n; ++k) {
    waiter* w = waiter_of(cases[order[k]]);
    if (w->queue != nullptr) w->queue->remove(w);
  }
  unlock();
}

// Whether d looks able to proceed, read without its channel's lock (the
// non-blocking operations' checks): only a hint, the lock decides.
bool looks_ready(const select_case_desc& d) {
  return d.kind == case_kind::recv ? !d.c->recv_would_block() : !d.c->send_would_block();
}

void locked_set::unlink_losers(const waiter* winner) const {
  for (int k = 0; k < n;) {
    chan_core* c = cases[order[k]].c;
    int end = k;
    bool others = false;
    for (; end < n && cases[order[end]].c == c; ++end)
      others = others || waiter_of(cases[order[end]]) != winner;
    if (others) {
      c->lock.lock();
      for (int j = k; j < end; ++j) {
        waiter* w = waiter_of(cases[order[j]]);
        if (w->queue != nullptr) w->queue->remove(w);
      }
      c->lock.unlock();
    }
    k = end;
  }
}

// Pass 0 or 1 for one case: true if it proceeded (all of `locks` are
// released then).
bool try_case(select_case_desc& d, const locked_set& locks) {
  chan_core* c = d.c;
  if (d.kind == case_kind::recv) {
    if (waiter* w = c->sendq.dequeue()) {
      transfer_from_sender(c, w, d.elem);
      d.received = true;
      locks.unlock();
      w->who.wake();
      return true;
    }
    if (c->qcount.load(std::memory_order_relaxed) > 0) {
      buffer_take(c, d.elem);
      d.received = true;
      locks.unlock();
      return true;
    }
    if (c->closed.load(std::memory_order_relaxed)) {
      d.received = false;
      locks.unlock();
      return true;
    }
    return false;
  }
  if (c->closed.load(std::memory_order_relaxed)) {
    locks.unlock();
    throw panic_error("send on closed channel");
  }
  if (waiter* w = c->recvq.dequeue()) {
    transfer_to_receiver(c, w, d.elem);
    locks.unlock();
    w->who.wake();
    return true;
  }
  if (c->qcount.load(std::memory_order_relaxed) < c->cap) {
    buffer_put(c, d.elem);
    locks.unlock();
    return true;
  }
  return false;
}

}  // namespace

int select_run(select_case_desc* cases, std::uint16_t* scratch, int n, bool may_default) {
  std::uint16_t* poll = scratch;
  std::uint16_t* order = scratch + n;
  int npoll = 0;
  for (int i = 0; i < n; ++i) {
    if (cases[i].c == nullptr) continue;  // a nil channel never proceeds
    int j = static_cast<int>(cheap_rand_below(static_cast<std::uint32_t>(npoll + 1)));
    poll[npoll] = poll[j];
    poll[j] = static_cast<std::uint16_t>(i);
    ++npoll;
  }
  if (npoll == 0) {
    if (may_default) return -1;
    block_forever(n == 0 ? "select (no cases)" : "select");
  }
  // Pass 0: the first case in poll order that looks ready is tried under
  // its own channel's lock alone (one lock instead of all, no lock order to
  // sort). The choice is pass 1's: the first ready case in poll order. If
  // it stopped being ready meanwhile, pass 1 looks at every case again.
  for (int k = 0; k < npoll; ++k) {
    if (!looks_ready(cases[poll[k]])) continue;
    locked_set one{cases, &poll[k], 1};
    one.lock();
    if (try_case(cases[poll[k]], one)) return poll[k];
    one.unlock();
    break;
  }
  // Lock order by address: an insertion sort (selects have few cases).
  auto below = [cases](std::uint16_t a, std::uint16_t b) {
    return std::less<const chan_core*>()(cases[a].c, cases[b].c);
  };
  for (int k = 0; k < npoll; ++k) {
    std::uint16_t x = poll[k];
    int j = k;
    for (; j > 0 && below(x, order[j - 1]); --j) order[j] = order[j - 1];
    order[j] = x;
  }
  locked_set locks{cases, order, npoll};
  locks.lock();

  for (int k = 0; k < npoll; ++k)
    if (try_case(cases[poll[k]], locks)) return poll[k];
  if (may_default) {
    locks.unlock();
    return -1;
  }

  select_state state;
  parker self;
  for (int k = 0; k < npoll; ++k) {
    select_case_desc& d = cases[order[k]];
    waiter* w = ::new (d.waiter_storage) waiter(self);
    w->elem = d.elem;
    w->c = d.c;
    w->sel = &state;
    w->case_index = order[k];
    (d.kind == case_kind::recv ? d.c->recvq : d.c->sendq).enqueue(w);
  }
  waiter_of(cases[order[0]])->who.block(
      [](void* set) { static_cast<locked_set*>(set)->unlock(); }, &locks, "select",
      [](void* set) { static_cast<locked_set*>(set)->unlink_all(); }, &locks);

  waiter* winner = state.winner;
  locks.unlink_losers(winner);
  int chosen = winner->case_index;
  bool success = winner->success;
  for (int k = 0; k < npoll; ++k) waiter_of(cases[order[k]])->~waiter();
  if (cases[chosen].kind == case_kind::recv) {
    cases[chosen].received = success;
  } else if (!success) {
    throw panic_error("send on closed channel");
  }
  return chosen;
}

}  // namespace goro::detail
