// sema/sema.cpp — see sema.hpp.
#include "sema/sema.hpp"

#include <cstddef>

#include "os/futex.hpp"
#include "os/spinlock.hpp"
#include "sched/sched.hpp"

namespace goro::detail {
namespace {

constexpr std::size_t sema_table_size = 251;

struct sema_waiter {
  const void* addr = nullptr;
  G* g = nullptr;                                  // null: a plain thread
  std::atomic<std::uint32_t>* thread_word = nullptr;
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

bool try_acquire(std::atomic<std::uint32_t>* addr) {
  std::uint32_t v = addr->load(std::memory_order_relaxed);
  while (v != 0) {
    if (addr->compare_exchange_weak(v, v - 1, std::memory_order_acquire,
                                    std::memory_order_relaxed))
      return true;
  }
  return false;
}

thread_local std::atomic<std::uint32_t> thread_wake_word{0};

}  // namespace

void sem_acquire(std::atomic<std::uint32_t>* addr, const char* wait_reason) {
  if (try_acquire(addr)) return;
  sema_bucket& b = bucket_for(addr);
  sema_waiter w;
  w.addr = addr;
  G* g = current_g();
  for (;;) {
    b.lock.lock();
    b.nwait.fetch_add(1, std::memory_order_seq_cst);
    if (try_acquire(addr)) {
      b.nwait.fetch_sub(1, std::memory_order_relaxed);
      b.lock.unlock();
      return;
    }
    w.ticket = false;
    w.g = g;
    if (g != nullptr) {
      b.enqueue(&w);
      current_runtime()->park(
          [](void* bucket, G*) {
            static_cast<sema_bucket*>(bucket)->lock.unlock();
            return true;
          },
          &b, wait_reason);
    } else {
      std::atomic<std::uint32_t>* word = &thread_wake_word;
      word->store(0, std::memory_order_relaxed);
      w.thread_word = word;
      b.enqueue(&w);
      b.lock.unlock();
      while (word->load(std::memory_order_acquire) == 0) os::futex_wait(word, 0);
    }
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
  if (w->g != nullptr) {
    current_runtime()->ready(w->g);
  } else {
    std::atomic<std::uint32_t>* word = w->thread_word;  // w may vanish after the store
    word->store(1, std::memory_order_release);
    os::futex_wake(word);
  }
}

}  // namespace goro::detail
