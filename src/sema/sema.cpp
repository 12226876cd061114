// sema/sema.cpp — the address-keyed semaphore (see sema.hpp).
#include "sema/sema.hpp"

#include <cstddef>
#include <mutex>

#include "os/futex_lock.hpp"
#include "sched/parker.hpp"

namespace goro::detail {
namespace {

constexpr std::size_t sema_table_size = 251;

struct sema_waiter {
  const void* addr = nullptr;
  parker who;
  // Treap links; used only while this is the first waiter of its address.
  sema_waiter* parent = nullptr;
  sema_waiter* left = nullptr;   // smaller addresses
  sema_waiter* right = nullptr;  // larger addresses
  std::uint32_t priority = 0;    // a node's priority is <= its children's
  // The address's later waiters in wake order: waitlink is the next one;
  // waittail, on the first waiter only, the last (null if it is alone).
  sema_waiter* waitlink = nullptr;
  sema_waiter* waittail = nullptr;
  bool ticket = false;  // the releaser handed us the count
};

std::uintptr_t key(const void* addr) { return reinterpret_cast<std::uintptr_t>(addr); }

// Go's semaRoot. Everything but nwait is guarded by lock.
struct alignas(64) sema_bucket {
  futex_lock lock;
  std::atomic<std::uint32_t> nwait{0};
  sema_waiter* root = nullptr;

  sema_waiter* find(const void* addr) const {
    sema_waiter* t = root;
    while (t != nullptr && t->addr != addr) t = key(addr) < key(t->addr) ? t->left : t->right;
    return t;
  }

  void queue(sema_waiter* w, bool lifo) {
    w->parent = w->left = w->right = nullptr;
    w->waitlink = w->waittail = nullptr;
    sema_waiter* parent = nullptr;
    sema_waiter** slot = &root;
    for (sema_waiter* t = *slot; t != nullptr; t = *slot) {
      if (t->addr == w->addr) {
        if (lifo) {  // w becomes the first waiter, t the second
          replace(t, w);
          w->waitlink = t;
          w->waittail = t->waittail != nullptr ? t->waittail : t;
          t->waittail = nullptr;
        } else {
          (t->waittail != nullptr ? t->waittail->waitlink : t->waitlink) = w;
          t->waittail = w;
        }
        return;
      }
      parent = t;
      slot = key(w->addr) < key(t->addr) ? &t->left : &t->right;
    }
    // A new address: a leaf, then rotated up to restore the heap order.
    w->priority = cheap_rand() | 1;
    w->parent = parent;
    *slot = w;
    while (w->parent != nullptr && w->parent->priority > w->priority) {
      if (w->parent->left == w) rotate_right(w->parent);
      else rotate_left(w->parent);
    }
  }

  // Removes and returns the first waiter for addr.
  sema_waiter* dequeue(const void* addr) {
    sema_waiter* s = find(addr);
    if (s != nullptr) remove_first(s);
    return s;
  }

  // Unlinks w wherever it is among its address's waiters (runtime teardown).
  void unlink(sema_waiter* w) {
    sema_waiter* first = find(w->addr);
    if (first == nullptr) return;
    if (first == w) {
      remove_first(w);
      nwait.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    for (sema_waiter* p = first; p->waitlink != nullptr; p = p->waitlink) {
      if (p->waitlink != w) continue;
      p->waitlink = w->waitlink;
      if (first->waittail == w) first->waittail = p == first ? nullptr : p;
      w->waitlink = nullptr;
      nwait.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }

 private:
  // The link that points at node (its parent's child pointer, or root).
  sema_waiter** slot_of(const sema_waiter* node) {
    if (node->parent == nullptr) return &root;
    return node->parent->left == node ? &node->parent->left : &node->parent->right;
  }

  // w takes node's place in the tree (links and priority).
  void replace(sema_waiter* node, sema_waiter* w) {
    *slot_of(node) = w;
    w->parent = node->parent;
    w->left = node->left;
    w->right = node->right;
    w->priority = node->priority;
    if (w->left != nullptr) w->left->parent = w;
    if (w->right != nullptr) w->right->parent = w;
    node->parent = node->left = node->right = nullptr;
  }

  // x's right child takes x's place; x becomes its left child.
  void rotate_left(sema_waiter* x) {
    sema_waiter** slot = slot_of(x);
    sema_waiter* y = x->right;
    x->right = y->left;
    if (x->right != nullptr) x->right->parent = x;
    y->left = x;
    y->parent = x->parent;
    x->parent = y;
    *slot = y;
  }

  // y's left child takes y's place; y becomes its right child.
  void rotate_right(sema_waiter* y) {
    sema_waiter** slot = slot_of(y);
    sema_waiter* x = y->left;
    y->left = x->right;
    if (y->left != nullptr) y->left->parent = y;
    x->right = y;
    x->parent = y->parent;
    y->parent = x;
    *slot = x;
  }

  // Removes s, the first waiter of its address: its second waiter takes its
  // place in the tree, or, if it was alone, s is rotated down to a leaf and
  // cut off.
  void remove_first(sema_waiter* s) {
    if (sema_waiter* t = s->waitlink) {
      replace(s, t);
      t->waittail = t->waitlink != nullptr ? s->waittail : nullptr;
      s->waitlink = s->waittail = nullptr;
      return;
    }
    while (s->left != nullptr || s->right != nullptr) {
      if (s->right == nullptr || (s->left != nullptr && s->left->priority < s->right->priority))
        rotate_right(s);
      else
        rotate_left(s);
    }
    *slot_of(s) = nullptr;
    s->parent = nullptr;
  }
};

sema_bucket buckets[sema_table_size];

sema_bucket& bucket_for(const void* addr) { return buckets[(key(addr) >> 3) % sema_table_size]; }

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

void sem_acquire(std::atomic<std::uint32_t>* addr, const char* wait_reason, bool lifo) {
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
    b.queue(&w, lifo);
    w.who.block([](void* bucket) { static_cast<sema_bucket*>(bucket)->lock.unlock(); }, &b,
                wait_reason, &unlink_waiter, &w);
    if (w.ticket || try_acquire(addr)) return;
  }
}

std::uint32_t sem_nwait(const std::atomic<std::uint32_t>* addr) noexcept {
  return bucket_for(addr).nwait.load(std::memory_order_seq_cst);
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
  const bool handed = handoff && try_acquire(addr);
  if (handed) w->ticket = true;
  w->who.wake();  // w may be gone after this
  // The waiter was readied into our P's runnext: let it run first.
  if (handed && current_g() != nullptr) current_runtime()->yield_local();
}

}  // namespace goro::detail
