// chan/chan.cpp — channel operations (see chan.hpp for the invariants).
#include "chan/chan.hpp"

#include <cstdlib>
#include <new>

#include "goro/panic.hpp"

namespace goro::detail {
namespace {

void unlock_channel(void* c) { static_cast<chan_core*>(c)->lock.unlock(); }

// Runtime teardown: takes a blocked goroutine's waiter out of its channel.
void unlink_waiter(void* p) {
  auto* w = static_cast<waiter*>(p);
  w->c->lock.lock();
  if (w->queue != nullptr) w->queue->remove(w);
  w->c->lock.unlock();
}

void unlock_and_wake(chan_core* c, waiter* w) {
  c->lock.unlock();
  w->who.wake();
}

[[noreturn]] void panic_send_on_closed() { throw panic_error("send on closed channel"); }

}  // namespace

// ---------------------------------------------------------------------------
// Lifetime.

chan_core* chan_make(const elem_ops* ops, std::size_t cap) {
  // One allocation: the core, then the buffer at the element's alignment.
  std::size_t align = ops->align > alignof(chan_core) ? ops->align : alignof(chan_core);
  std::size_t header = (sizeof(chan_core) + ops->align - 1) / ops->align * ops->align;
  if (header > UINT16_MAX) throw panic_error("makechan: invalid channel element type");
  // Go's limit (maxAlloc): no address space holds more than 2^47 bytes; and
  // goro counts elements in 32 bits.
  constexpr std::size_t max_alloc = std::size_t{1} << 47;
  if (cap > UINT32_MAX || (cap != 0 && ops->size != 0 && cap > (max_alloc - header) / ops->size))
    throw panic_error("makechan: size out of range");
  std::size_t bytes = header + cap * ops->size;
  void* mem = ::operator new(bytes, std::align_val_t{align});
  return ::new (mem) chan_core(ops, static_cast<std::uint32_t>(cap), static_cast<std::uint16_t>(header));
}

void chan_retain(chan_core* c) noexcept { c->refs.fetch_add(1, std::memory_order_relaxed); }

void chan_release(chan_core* c) noexcept {
  if (c->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // Last handle: nobody can be blocked on the channel (a blocked operation
  // holds a handle). Destroy what is still buffered.
  std::size_t n = c->qcount.load(std::memory_order_relaxed);
  for (std::size_t i = 0, x = c->recvx; i < n; ++i, x = (x + 1 == c->cap ? 0 : x + 1))
    c->ops->destroy(c->slot(x));
  std::size_t align = c->ops->align > alignof(chan_core) ? c->ops->align : alignof(chan_core);
  c->~chan_core();
  ::operator delete(static_cast<void*>(c), std::align_val_t{align});
}

std::size_t chan_len(const chan_core* c) noexcept {
  return c->hide_buffer ? 0 : c->qcount.load(std::memory_order_relaxed);
}
std::size_t chan_cap(const chan_core* c) noexcept { return c->hide_buffer ? 0 : c->cap; }
void chan_hide_buffer(chan_core* c) noexcept { c->hide_buffer = true; }

// ---------------------------------------------------------------------------
// The communication steps (called with c->lock held).

void buffer_put(chan_core* c, void* src) {
  c->ops->move_construct(c->slot(c->sendx), src);
  if (++c->sendx == c->cap) c->sendx = 0;
  c->qcount.store(c->qcount.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void buffer_take(chan_core* c, void* dst) {
  void* s = c->slot(c->recvx);
  c->ops->move_construct(dst, s);
  c->ops->destroy(s);
  if (++c->recvx == c->cap) c->recvx = 0;
  c->qcount.store(c->qcount.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void transfer_to_receiver(chan_core* c, waiter* w, void* src) {
  c->ops->move_construct(w->elem, src);
  w->success = true;
}

void transfer_from_sender(chan_core* c, waiter* w, void* dst) {
  if (c->cap == 0) {
    c->ops->move_construct(dst, w->elem);
  } else {
    // The buffer is full: take its oldest value, and put the sender's value
    // in the freed slot (the queue's tail), keeping FIFO order.
    void* s = c->slot(c->recvx);
    c->ops->move_construct(dst, s);
    c->ops->destroy(s);
    c->ops->move_construct(s, w->elem);
    if (++c->recvx == c->cap) c->recvx = 0;
    c->sendx = c->recvx;
  }
  w->success = true;
}

void block_forever(const char* wait_reason) {
  struct nothing {};
  nothing n;
  parker who;
  who.block([](void*) {}, &n, wait_reason);
  std::abort();  // nobody ever wakes it
}

// ---------------------------------------------------------------------------
// Operations.

namespace {

// The non-blocking part of a send, with c->lock held: returns true (lock
// released) if the value went to a receiver or the buffer, false (lock still
// held) if the send would block. Throws on a closed channel.
bool send_locked(chan_core* c, void* src) {
  if (c->closed.load(std::memory_order_relaxed)) {
    c->lock.unlock();
    panic_send_on_closed();
  }
  if (waiter* w = c->recvq.dequeue()) {
    transfer_to_receiver(c, w, src);
    unlock_and_wake(c, w);
    return true;
  }
  if (c->qcount.load(std::memory_order_relaxed) < c->cap) {
    buffer_put(c, src);
    c->lock.unlock();
    return true;
  }
  return false;
}

// The non-blocking part of a receive, with c->lock held: ok or closed (lock
// released), or empty (lock still held).
recv_status recv_locked(chan_core* c, void* dst) {
  if (c->closed.load(std::memory_order_relaxed) && c->qcount.load(std::memory_order_relaxed) == 0) {
    c->lock.unlock();
    return recv_status::closed;
  }
  if (waiter* w = c->sendq.dequeue()) {
    transfer_from_sender(c, w, dst);
    unlock_and_wake(c, w);
    return recv_status::ok;
  }
  if (c->qcount.load(std::memory_order_relaxed) > 0) {
    buffer_take(c, dst);
    c->lock.unlock();
    return recv_status::ok;
  }
  return recv_status::empty;
}

}  // namespace

void chan_send(chan_core* c, void* src) {
  if (c == nullptr) block_forever("chan send (nil chan)");
  c->lock.lock();
  if (send_locked(c, src)) return;
  waiter self;
  self.elem = src;
  self.c = c;
  c->sendq.enqueue(&self);
  self.who.block(&unlock_channel, c, "chan send", &unlink_waiter, &self);
  if (!self.success) panic_send_on_closed();
}

bool chan_try_send(chan_core* c, void* src) {
  if (c == nullptr) return false;
  if (c->send_would_block()) return false;  // lock-free
  c->lock.lock();
  if (send_locked(c, src)) return true;
  c->lock.unlock();
  return false;
}

bool chan_recv(chan_core* c, void* dst) {
  if (c == nullptr) block_forever("chan receive (nil chan)");
  c->lock.lock();
  recv_status st = recv_locked(c, dst);
  if (st != recv_status::empty) return st == recv_status::ok;
  waiter self;
  self.elem = dst;
  self.c = c;
  c->recvq.enqueue(&self);
  self.who.block(&unlock_channel, c, "chan receive", &unlink_waiter, &self);
  return self.success;
}

recv_status chan_try_recv(chan_core* c, void* dst) {
  if (c == nullptr) return recv_status::empty;
  // Lock-free "would block" (chan.go's order): empty, then closed, then
  // empty again — a channel cannot be reopened, so if it was empty after we
  // saw it closed, it is closed and drained.
  if (c->empty()) {
    if (!c->closed.load(std::memory_order_acquire)) return recv_status::empty;
    if (c->empty()) return recv_status::closed;
  }
  c->lock.lock();
  recv_status st = recv_locked(c, dst);
  if (st == recv_status::empty) c->lock.unlock();
  return st;
}

void chan_close(chan_core* c) {
  if (c == nullptr) throw panic_error("close of nil channel");
  c->lock.lock();
  if (c->closed.load(std::memory_order_relaxed)) {
    c->lock.unlock();
    throw panic_error("close of closed channel");
  }
  c->closed.store(true, std::memory_order_release);
  // Every waiter fails: receivers get "closed", senders will panic. Collect
  // them, then wake them after unlocking.
  waiter* woken = nullptr;
  for (wait_queue* q : {&c->recvq, &c->sendq}) {
    while (waiter* w = q->dequeue()) {
      w->success = false;
      w->next = woken;
      woken = w;
    }
  }
  c->lock.unlock();
  while (woken != nullptr) {
    waiter* w = woken;
    woken = w->next;  // read before waking: w lives on its owner's stack
    w->who.wake();
  }
}

}  // namespace goro::detail
