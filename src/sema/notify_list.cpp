// sema/notify_list.cpp — Go's notifyList, the waiter queue of goro::cond
// (see sema.hpp for the contract and the type; a cond holds one in its
// notify_list_storage). Only this file touches its fields.
//
// Tickets: notify_list_add hands out `wait` (then increments it); every
// ticket before `notify` has been notified. A waiter parks only if its
// ticket is not yet notified. Waiters are listed in the order they park,
// which may differ from ticket order (a goroutine can take a ticket and be
// overtaken before it parks), so notify_one looks its ticket up; a ticket
// whose owner has not parked yet is found notified when the owner comes to
// park, and it does not park at all.
//
// Lock order: the list's lock is a leaf; waiters are woken after it is
// released.
#include <mutex>

#include "sched/parker.hpp"
#include "sema/sema.hpp"

namespace goro::detail {

struct notify_waiter {
  parker who;
  std::uint32_t ticket = 0;
  notify_list* list = nullptr;
  notify_waiter* next = nullptr;
};

namespace {

// Wrap-around order of tickets (Go's less).
bool ticket_before(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) < 0;
}

// Unlinks w (prev: its predecessor, or null). List lock held.
void remove(notify_list* l, notify_waiter* prev, notify_waiter* w) {
  (prev != nullptr ? prev->next : l->head) = w->next;
  if (l->tail == w) l->tail = prev;
  w->next = nullptr;
}

// Runtime teardown: takes out the record of a goroutine left parked.
void unlink_waiter(void* p) {
  auto* w = static_cast<notify_waiter*>(p);
  std::lock_guard lock(w->list->lock);
  for (notify_waiter *prev = nullptr, *s = w->list->head; s != nullptr; prev = s, s = s->next) {
    if (s == w) {
      remove(w->list, prev, w);
      return;
    }
  }
}

}  // namespace

void notify_list_init(notify_list_storage* storage) noexcept { ::new (storage->bytes) notify_list; }

std::uint32_t notify_list_add(notify_list* l) noexcept {
  return l->wait.fetch_add(1, std::memory_order_seq_cst);
}

void notify_list_wait(notify_list* l, std::uint32_t ticket, const char* wait_reason) {
  l->lock.lock();
  if (ticket_before(ticket, l->notify.load(std::memory_order_relaxed))) {
    l->lock.unlock();
    return;
  }
  notify_waiter w;
  w.ticket = ticket;
  w.list = l;
  if (l->tail == nullptr) l->head = &w;
  else l->tail->next = &w;
  l->tail = &w;
  w.who.block([](void* list) { static_cast<notify_list*>(list)->lock.unlock(); }, l, wait_reason,
              &unlink_waiter, &w);
}

void notify_list_notify_all(notify_list* l) noexcept {
  // Nobody has taken a ticket since the last notification: nothing to do.
  if (l->wait.load(std::memory_order_seq_cst) == l->notify.load(std::memory_order_seq_cst)) return;
  l->lock.lock();
  notify_waiter* s = l->head;
  l->head = l->tail = nullptr;
  l->notify.store(l->wait.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  l->lock.unlock();
  while (s != nullptr) {
    notify_waiter* next = s->next;
    s->next = nullptr;
    s->who.wake();  // s may be gone after this
    s = next;
  }
}

void notify_list_notify_one(notify_list* l) noexcept {
  if (l->wait.load(std::memory_order_seq_cst) == l->notify.load(std::memory_order_seq_cst)) return;
  l->lock.lock();
  std::uint32_t t = l->notify.load(std::memory_order_relaxed);
  if (t == l->wait.load(std::memory_order_seq_cst)) {
    l->lock.unlock();
    return;
  }
  l->notify.store(t + 1, std::memory_order_seq_cst);
  for (notify_waiter *prev = nullptr, *s = l->head; s != nullptr; prev = s, s = s->next) {
    if (s->ticket != t) continue;
    remove(l, prev, s);
    l->lock.unlock();
    s->who.wake();
    return;
  }
  l->lock.unlock();
}

}  // namespace goro::detail
