// sync/semaphore.cpp — goro::semaphore (golang.org/x/sync/semaphore).
//
// Owns: the count of units held and the FIFO of waiters, guarded by mu_ (a
// goro::mutex). Each waiter record lives on its waiter's stack and has its
// own runtime semaphore word (`ready`), on which its owner parks. Exactly one
// party takes a queued waiter off the list, under mu_, and then releases its
// word: release() (a grant) or the waiter's context (a cancellation, through
// a context hook, src/context). So the waiter wakes exactly once and then
// knows from `canceled` which it was. This is the "acquire that can be
// abandoned": the abandoning is done by whoever dequeues the record.
//
// Invariants: queued == (the waiter is in the list); units are added to
// cur_ when a waiter is granted, before it wakes; the waiter unregisters its
// hook before its record goes away (ctx_hook_remove waits out a running
// hook, which holds the context's lock).
//
// Lock order: context node lock (the hook runs under it) -> mu_ -> sema
// bucket. Nothing here takes a context lock while holding mu_.
#include "goro/semaphore.hpp"

#include <mutex>

#include "context/context.hpp"
#include "goro/panic.hpp"
#include "sema/sema.hpp"

namespace goro {

struct semaphore::waiter {
  semaphore* sem = nullptr;
  std::int64_t n = 0;
  waiter* prev = nullptr;
  waiter* next = nullptr;  // also links granted waiters until they are woken
  bool queued = false;     // guarded by sem->mu_
  bool canceled = false;   // written before ready is released
  std::atomic<std::uint32_t> ready{0};
  detail::ctx_hook hook;

  void unlink() {
    (prev != nullptr ? prev->next : sem->head_) = next;
    (next != nullptr ? next->prev : sem->tail_) = prev;
    prev = next = nullptr;
    queued = false;
  }
};

// Go's notifyWaiters: grants, in order, every waiter that fits, stopping at
// the first that does not. Returns them linked through next, to be woken
// after mu_ is released.
semaphore::waiter* semaphore::grant_locked() {
  waiter* granted = nullptr;
  waiter** last = &granted;
  while (head_ != nullptr && size_ - cur_ >= head_->n) {
    waiter* w = head_;
    cur_ += w->n;
    w->unlink();
    *last = w;
    last = &w->next;
  }
  return granted;
}

void semaphore::wake(waiter* granted) {
  while (granted != nullptr) {
    waiter* next = granted->next;  // the record may be gone once released
    detail::sem_release(&granted->ready);
    granted = next;
  }
}

// ctx is done: take w out, unless release() granted it first.
void semaphore::on_cancel(void* p) {
  auto* w = static_cast<waiter*>(p);
  semaphore* s = w->sem;
  waiter* granted = nullptr;
  {
    std::lock_guard lock(s->mu_);
    if (!w->queued) return;
    const bool front = s->head_ == w;
    w->unlink();
    w->canceled = true;
    // The waiters behind it may fit now.
    if (front && s->size_ > s->cur_) granted = s->grant_locked();
  }
  wake(granted);
  detail::sem_release(&w->ready);
}

std::error_code semaphore::acquire(const context& ctx, std::int64_t n) {
  waiter w;
  {
    std::unique_lock lock(mu_);
    // A context already done wins, even over free units (x/sync).
    if (auto e = ctx.err()) return e;
    if (size_ - cur_ >= n && head_ == nullptr) {
      cur_ += n;
      return {};
    }
    if (n > size_) {
      // Never fits: do not make the others wait behind it.
      lock.unlock();
      ctx.done().recv();
      return ctx.err();
    }
    w.sem = this;
    w.n = n;
    w.queued = true;
    w.prev = tail_;
    (tail_ != nullptr ? tail_->next : head_) = &w;
    tail_ = &w;
  }
  w.hook.fn = [](detail::ctx_hook* h) { on_cancel(h->arg); };
  w.hook.arg = &w;
  if (!detail::ctx_hook_add(ctx, &w.hook)) on_cancel(&w);  // done meanwhile
  // x/sync's Weighted.Acquire waits in a select on ctx.Done() and its
  // ready channel: Go's dump shows "select".
  detail::sem_acquire(&w.ready, "select");
  detail::ctx_hook_remove(&w.hook);
  if (w.canceled) return ctx.err();
  // Granted; but if ctx is done by now, report that and give the units back.
  if (auto e = ctx.err()) {
    release(n);
    return e;
  }
  return {};
}

void semaphore::acquire(std::int64_t n) {
  std::error_code e = acquire(background(), n);  // background is never done
  (void)e;
}

bool semaphore::try_acquire(std::int64_t n) {
  std::lock_guard lock(mu_);
  if (size_ - cur_ < n || head_ != nullptr) return false;
  cur_ += n;
  return true;
}

void semaphore::release(std::int64_t n) {
  waiter* granted = nullptr;
  {
    std::lock_guard lock(mu_);
    cur_ -= n;
    if (cur_ < 0) {
      cur_ += n;
      throw panic_error("semaphore: released more than held");
    }
    granted = grant_locked();
  }
  wake(granted);
}

}  // namespace goro
