// timer/timer.cpp — the 4-ary timer heap (see timer.hpp).
#include "timer/timer.hpp"

#include <chrono>
#include <mutex>

#include "debug/trace.hpp"

namespace goro::detail {

std::int64_t nanotime() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void timer_heap::place(std::size_t i, const entry& e) {
  items[i] = e;
  if (e.track) e.t->index = static_cast<std::int32_t>(i);
}

void timer_heap::sift_up(std::size_t i) {
  entry e = items[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 4;
    if (items[parent].when <= e.when) break;
    place(i, items[parent]);
    i = parent;
  }
  place(i, e);
}

void timer_heap::sift_down(std::size_t i) {
  entry e = items[i];
  std::size_t n = items.size();
  for (;;) {
    std::size_t first = 4 * i + 1;
    if (first >= n) break;
    std::size_t best = first;
    std::size_t end = first + 4 < n ? first + 4 : n;
    for (std::size_t c = first + 1; c < end; ++c)
      if (items[c].when < items[best].when) best = c;
    if (items[best].when >= e.when) break;
    place(i, items[best]);
    i = best;
  }
  place(i, e);
}

void timer_heap::publish_next_locked() {
  std::int64_t when = items.empty() ? 0 : items.front().when;
  if (fifo_head < fifo.size() && (when == 0 || fifo[fifo_head].when < when)) when = fifo[fifo_head].when;
  next_when.store(when, std::memory_order_release);
}

void timer_heap::push_locked(timer* t) {
  if (!t->removable && t->period == 0 && (fifo_head == fifo.size() || fifo.back().when <= t->when)) {
    fifo.push_back({t->when, t, t->fire, t->arg});
    return;
  }
  items.push_back({t->when, t, t->removable});
  sift_up(items.size() - 1);
}

void timer_heap::pop_fifo_locked() {
  if (++fifo_head == fifo.size()) {
    fifo.clear();  // keeps the capacity: no allocation in steady state
    fifo_head = 0;
  } else if (fifo_head >= 1024 && fifo_head * 2 >= fifo.size()) {
    fifo.erase(fifo.begin(), fifo.begin() + static_cast<std::ptrdiff_t>(fifo_head));
    fifo_head = 0;
  }
}

void timer_heap::remove_at_locked(std::size_t i) {
  timer* t = items[i].t;
  entry last = items.back();
  items.pop_back();
  t->index = -1;
  if (i < items.size()) {
    place(i, last);
    sift_down(i);
    // sift_down may have moved it; find it again only if it stayed put.
    if (items[i].t == last.t) sift_up(i);
  }
}

void timer_heap::add(timer* t) {
  std::lock_guard guard(lock);
  t->heap.store(this, std::memory_order_relaxed);
  push_locked(t);
  publish_next_locked();
}

bool timer_heap::remove(timer* t) {
  std::lock_guard guard(lock);
  if (t->index < 0) return false;
  remove_at_locked(static_cast<std::size_t>(t->index));
  publish_next_locked();
  return true;
}

void timer_heap::discard_all() {
  std::vector<entry> pending;
  {
    std::lock_guard guard(lock);
    pending.swap(items);
    for (std::size_t i = fifo_head; i < fifo.size(); ++i) pending.push_back({fifo[i].when, fifo[i].t, false});
    fifo.clear();
    fifo_head = 0;
    publish_next_locked();
  }
  for (entry& e : pending) {
    e.t->index = -1;
    e.t->heap.store(nullptr, std::memory_order_relaxed);
    if (e.t->discard) e.t->discard(e.t);
  }
}

int timer_heap::run_due(std::int64_t now) {
  int ran = 0;
  std::lock_guard guard(lock);
  for (;;) {
    // The earlier of the heap's minimum and the FIFO's head.
    if (fifo_head < fifo.size() && (items.empty() || fifo[fifo_head].when <= items.front().when)) {
      fifo_entry e = fifo[fifo_head];
      if (e.when > now) break;
      tr::timer_fire(e.when, now);
      pop_fifo_locked();
      e.fire(e.t, e.arg, now);  // from the entry alone: t is not read
      ++ran;
      continue;
    }
    if (items.empty() || items.front().when > now) break;
    timer* t = items.front().t;
    tr::timer_fire(items.front().when, now);
    if (t->period > 0) {
      // Re-arm, dropping the ticks missed: the phase is kept.
      std::int64_t missed = (now - t->when) / t->period;
      t->when += (missed + 1) * t->period;
      items.front().when = t->when;
      sift_down(0);
    } else {
      remove_at_locked(0);
    }
    t->fire(t, t->arg, now);  // a one-shot timer may free itself: t is not used after
    ++ran;
  }
  publish_next_locked();
  return ran;
}

}  // namespace goro::detail
