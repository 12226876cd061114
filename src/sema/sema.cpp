// sema/sema.cpp — see sema.hpp.
#include "sema/sema.hpp"

#include <cstddef>
#include <mutex>

#include "os/futex.hpp"
#include "os/spinlock.hpp"
#include "sched/parker.hpp"

namespace goro::detail {
namespace {

constexpr std::size_t sema_table_size = 251;

struct sema_waiter {
  const void* addr = nullptr;
  parker who;
  sema_waiter* next = nullptr;
  bool ticket = false;  // the releaser handed us the count
};

struct alignas(64) sema_bucket {
  spinlock lock;
  std::atomic<std::uint32_t> nwait{0};
  sema_waiter* head = nullptr;  // guarded by lock
  sema_waiter* tail = nullptr;  // guarded by lock

  void enqueue(sema_waiter* w) {
    w->next = nullptr;
    if (tail) tail->next = w; else head = w;
    tail = w;
  }
  // Unlinks w (runtime teardown; O(n)).
  void unlink(sema_waiter* w) {
    sema_waiter* prev = nullptr;
    for (sema_waiter* x = head; x != nullptr; prev = x, x = x->next) {
      if (x != w) continue;
      (prev ? prev->next : head) = w->next;
      if (tail == w) tail = prev;
      nwait.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }
  // Removes and returns the first waiter for addr.
  sema_waiter* dequeue(const void* addr) {
    sema_waiter* prev = nullptr;
    for (sema_waiter* w = head; w != nullptr; prev = w, w = w->next) {
      if (w->addr != addr) continue;
      (prev ? prev->next : head) = w->next;
      if (tail == w) tail = prev;
      w->next = nullptr;
      return w;
    }
    return nullptr;
  }
};

sema_bucket buckets[sema_table_size];

sema_bucket& bucket_for(const void* addr) {
  return buckets[(reinterpret_cast<std::uintptr_t>(addr) >> 3) % sema_table_size];
}

void unlink_waiter(void* p) {
  auto* w = static_cast<sema_waiter*>(p);
  sema_bucket& b = bucket_for(w->addr);
  std::lock_guard lock(b.lock);
  b.unlink(w);
}

bool try_acquire(std::atomic<std::uint32_t>* addr) {
  std::uint32_t v = addr->load(std::memory_order_relaxed);
  while (v != 0) {
    if (addr->compare_exchange_weak(v, v - 1, std::memory_order_acquire,
                                    std::memory_order_relaxed))
      return true;
  }
  return false;
}

}  // namespace

void sem_acquire(std::atomic<std::uint32_t>* addr, const char* wait_reason) {
  if (try_acquire(addr)) return;
  sema_bucket& b = bucket_for(addr);
  sema_waiter w;
  w.addr = addr;
  for (;;) {
    b.lock.lock();
    b.nwait.fetch_add(1, std::memory_order_seq_cst);
    if (try_acquire(addr)) {
      b.nwait.fetch_sub(1, std::memory_order_relaxed);
      b.lock.unlock();
      return;
    }
    w.ticket = false;
    b.enqueue(&w);
    w.who.block([](void* bucket) { static_cast<sema_bucket*>(bucket)->lock.unlock(); }, &b,
                wait_reason, &unlink_waiter, &w);
    if (w.ticket || try_acquire(addr)) return;
  }
}

void sem_release(std::atomic<std::uint32_t>* addr, bool handoff) {
  addr->fetch_add(1, std::memory_order_seq_cst);
  sema_bucket& b = bucket_for(addr);
  if (b.nwait.load(std::memory_order_seq_cst) == 0) return;
  b.lock.lock();
  if (b.nwait.load(std::memory_order_relaxed) == 0) {
    b.lock.unlock();
    return;
  }
  sema_waiter* w = b.dequeue(addr);
  if (w != nullptr) b.nwait.fetch_sub(1, std::memory_order_relaxed);
  b.lock.unlock();
  if (w == nullptr) return;
  if (handoff && try_acquire(addr)) w->ticket = true;
  w->who.wake();
}

}  // namespace goro::detail
