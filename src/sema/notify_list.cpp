// sema/notify_list.cpp — Go's notifyList, the waiter queue of goro::cond
// (see sema.hpp for the contract). The list's layout is public
// (goro/sync.hpp: detail::notify_list) because it is part of goro::cond;
// only this file touches its fields.
//
// Tickets: notify_list_add hands out `wait` (then increments it); every
// ticket before `notify` has been notified. A waiter parks only if its
// ticket is not yet notified. Waiters are listed in the order they park,
// which may differ from ticket order (a goroutine can take a ticket and be
// overtaken before it parks), so notify_one looks its ticket up; a ticket
// whose owner has not parked yet is found notified when the owner comes to
// park, and it does not park at all.
//
// Lock order: the list's spin lock is a leaf; waiters are woken after it is
// released.
#include <mutex>

#include "goro/sync.hpp"
#include "os/spinlock.hpp"
#include "sched/parker.hpp"
#include "sema/sema.hpp"

namespace goro::detail {
namespace {

struct notify_waiter {
  parker who;
  std::uint32_t ticket = 0;
  notify_list* list = nullptr;
  notify_waiter* next = nullptr;
};

// Wrap-around order of tickets (Go's less).
bool ticket_before(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) < 0;
}

struct list_lock {
  notify_list* l;
  void lock() noexcept { spin_lock(l->lock); }
  void unlock() noexcept { spin_unlock(l->lock); }
};

notify_waiter* head(notify_list* l) { return static_cast<notify_waiter*>(l->head); }
notify_waiter* tail(notify_list* l) { return static_cast<notify_waiter*>(l->tail); }

// Unlinks w (prev: its predecessor, or null). List lock held.
void remove(notify_list* l, notify_waiter* prev, notify_waiter* w) {
  (prev != nullptr ? prev->next : *reinterpret_cast<notify_waiter**>(&l->head)) = w->next;
  if (tail(l) == w) l->tail = prev;
  w->next = nullptr;
}

// Runtime teardown: takes out the record of a goroutine left parked.
void unlink_waiter(void* p) {
  auto* w = static_cast<notify_waiter*>(p);
  list_lock lock{w->list};
  std::lock_guard guard(lock);
  for (notify_waiter *prev = nullptr, *s = head(w->list); s != nullptr; prev = s, s = s->next) {
    if (s == w) {
      remove(w->list, prev, w);
      return;
    }
  }
}

}  // namespace

std::uint32_t notify_list_add(notify_list* l) noexcept {
  return l->wait.fetch_add(1, std::memory_order_seq_cst);
}

void notify_list_wait(notify_list* l, std::uint32_t ticket, const char* wait_reason) {
  spin_lock(l->lock);
  if (ticket_before(ticket, l->notify.load(std::memory_order_relaxed))) {
    spin_unlock(l->lock);
    return;
  }
  notify_waiter w;
  w.ticket = ticket;
  w.list = l;
  if (l->tail == nullptr) l->head = &w;
  else tail(l)->next = &w;
  l->tail = &w;
  w.who.block([](void* list) { spin_unlock(static_cast<notify_list*>(list)->lock); }, l,
              wait_reason, &unlink_waiter, &w);
}

void notify_list_notify_all(notify_list* l) noexcept {
  // Nobody has taken a ticket since the last notification: nothing to do.
  if (l->wait.load(std::memory_order_seq_cst) == l->notify.load(std::memory_order_seq_cst)) return;
  spin_lock(l->lock);
  notify_waiter* s = head(l);
  l->head = l->tail = nullptr;
  l->notify.store(l->wait.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  spin_unlock(l->lock);
  while (s != nullptr) {
    notify_waiter* next = s->next;
    s->next = nullptr;
    s->who.wake();  // s may be gone after this
    s = next;
  }
}

void notify_list_notify_one(notify_list* l) noexcept {
  if (l->wait.load(std::memory_order_seq_cst) == l->notify.load(std::memory_order_seq_cst)) return;
  spin_lock(l->lock);
  std::uint32_t t = l->notify.load(std::memory_order_relaxed);
  if (t == l->wait.load(std::memory_order_seq_cst)) {
    spin_unlock(l->lock);
    return;
  }
  l->notify.store(t + 1, std::memory_order_seq_cst);
  for (notify_waiter *prev = nullptr, *s = head(l); s != nullptr; prev = s, s = s->next) {
    if (s->ticket != t) continue;
    remove(l, prev, s);
    spin_unlock(l->lock);
    s->who.wake();
    return;
  }
  spin_unlock(l->lock);
}

}  // namespace goro::detail
