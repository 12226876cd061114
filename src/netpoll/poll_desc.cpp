// netpoll/poll_desc.cpp — waiting on a file descriptor, deadlines and close
// (see netpoll.hpp). Backend-independent.
#include <unistd.h>

#include <system_error>
#include <vector>

#include "netpoll/netpoll.hpp"
#include "netpoll/backend.hpp"
#include "sched/parker.hpp"
#include "sched/sched.hpp"

namespace goro::detail {

// A blocked wait (Go's pollDesc rg/wg, but a list: several goroutines may
// wait on one direction). Lives on the waiter's stack.
struct pd_waiter {
  parker who;
  pd_waiter* next = nullptr;
};

namespace {

std::atomic<std::int32_t> waiting{0};

// Goroutines go to `batch` if given (the poller readies them all at once).
void wake_all(pd_waiter* list, g_list* batch = nullptr) {
  while (list != nullptr) {
    pd_waiter* next = list->next;  // *list may vanish once woken
    if (G* g = list->who.goroutine(); g != nullptr && batch != nullptr) batch->push_back(g);
    else list->who.wake();
    list = next;
  }
}

}  // namespace

std::int32_t netpoll_waiters() noexcept { return waiting.load(std::memory_order_acquire); }

// Descriptors are never freed: a stale kernel event may still name one.
struct pd_pool {
  spinlock lock;
  poll_desc* free = nullptr;
  std::vector<poll_desc*> all;

  poll_desc* get() {
    std::lock_guard guard(lock);
    if (poll_desc* pd = free) {
      free = pd->next_free_;
      return pd;
    }
    auto* pd = new poll_desc;
    all.push_back(pd);
    return pd;
  }
  void put(poll_desc* pd) {
    std::lock_guard guard(lock);
    pd->next_free_ = free;
    free = pd;
  }
};

namespace {
pd_pool& pool() {
  static pd_pool* p = new pd_pool;  // never destroyed: events may outlive main
  return *p;
}
}  // namespace

poll_desc* poll_desc::open(int fd, std::uint64_t* gen) {
  backend_init();
  poll_desc* pd = pool().get();
  {
    std::lock_guard guard(pd->lock_);
    *gen = ++pd->gen_;
    pd->fd_ = fd;
    pd->refs_ = 0;
    pd->closing_ = false;
    for (int m = 0; m < 2; ++m) {
      side& s = pd->sides_[m];
      s.ready = false;
      s.deadline = 0;
      s.waiters = nullptr;
      s.timer.pd = pd;
      s.timer.mode = static_cast<poll_mode>(m);
      s.timer.fire = &poll_desc::on_deadline;
      s.armed_in = 0;
      s.timer.removable = true;
    }
  }
  if (int err = backend_open(fd, pd); err != 0) {
    pool().put(pd);
    throw std::system_error(err, std::generic_category(), "epoll_ctl");
  }
  return pd;
}

int poll_desc::fd_if(std::uint64_t gen) {
  std::lock_guard guard(lock_);
  return gen == gen_ && !closing_ ? fd_ : -1;
}

poll_result poll_desc::acquire(poll_mode mode, std::uint64_t gen) {
  std::lock_guard guard(lock_);
  if (closing_ || gen != gen_) return poll_result::closed;
  std::int64_t d = of(mode).deadline;
  if (d != 0 && d <= nanotime()) return poll_result::timeout;
  ++refs_;
  return poll_result::ready;
}

void poll_desc::release() {
  bool last;
  {
    std::lock_guard guard(lock_);
    last = --refs_ == 0 && closing_;
  }
  if (last) destroy();
}

bool poll_desc::close(std::uint64_t gen) {
  pd_waiter* woken[2];
  bool last;
  {
    std::lock_guard guard(lock_);
    if (closing_ || gen != gen_) return false;
    closing_ = true;
    last = refs_ == 0;
    for (int m = 0; m < 2; ++m) {
      woken[m] = sides_[m].waiters;
      sides_[m].waiters = nullptr;
    }
  }
  wake_all(woken[0]);
  wake_all(woken[1]);
  if (last) destroy();
  return true;
}

// Removes the side's deadline timer if it is pending in the current
// runtime's heaps (a timer armed by an earlier runtime died with it).
void poll_desc::disarm(side& s) {
  runtime* rt = current_runtime();
  if (rt != nullptr && s.armed_in == rt->id()) rt->del_timer(&s.timer);
  s.armed_in = 0;
}

void poll_desc::destroy() {
  {
    std::lock_guard deadlines(deadline_mu_);
    for (auto& s : sides_) disarm(s);
  }
  int fd;
  {
    std::lock_guard guard(lock_);  // notify() reads fd_ under lock_ (a stale event)
    fd = fd_;
    fd_ = -1;
  }
  backend_close(fd);
  ::close(fd);
  pool().put(this);
}

poll_result poll_desc::wait(poll_mode mode) {
  side& s = of(mode);
  lock_.lock();
  for (;;) {
    if (closing_) {
      lock_.unlock();
      return poll_result::closed;
    }
    if (s.deadline != 0 && s.deadline <= nanotime()) {
      lock_.unlock();
      return poll_result::timeout;
    }
    if (s.ready) {
      s.ready = false;
      lock_.unlock();
      return poll_result::ready;
    }
    pd_waiter w;
    w.next = s.waiters;
    s.waiters = &w;
    waiting.fetch_add(1, std::memory_order_acq_rel);
    // A blocked poller must learn that there is now something to wait for.
    struct unlock_ctx {
      poll_desc* pd;
    } ctx{this};
    struct unlink_ctx {
      side* s;
      pd_waiter* w;
    } unlink{&s, &w};
    w.who.block([](void* a) { static_cast<unlock_ctx*>(a)->pd->lock_.unlock(); }, &ctx,
                "IO wait",
                [](void* a) {
                  auto* u = static_cast<unlink_ctx*>(a);
                  for (pd_waiter** pp = &u->s->waiters; *pp != nullptr; pp = &(*pp)->next)
                    if (*pp == u->w) {
                      *pp = u->w->next;
                      break;
                    }
                },
                &unlink);
    waiting.fetch_sub(1, std::memory_order_acq_rel);
    // Woken: by an edge, a deadline or close. After an edge the caller
    // retries its system call even if another waiter consumed `ready` first:
    // one edge may announce several connections or datagrams, and
    // re-sleeping here would sleep through the rest.
    lock_.lock();
    if (!closing_ && !(s.deadline != 0 && s.deadline <= nanotime())) {
      s.ready = false;
      lock_.unlock();
      return poll_result::ready;
    }
  }
}

void poll_desc::notify(bool readable, bool writable, g_list& readied) {
  pd_waiter* woken[2] = {nullptr, nullptr};
  {
    std::lock_guard guard(lock_);
    if (fd_ < 0) return;  // a stale event for a recycled descriptor
    if (readable) {
      sides_[0].ready = true;
      woken[0] = sides_[0].waiters;
      sides_[0].waiters = nullptr;
    }
    if (writable) {
      sides_[1].ready = true;
      woken[1] = sides_[1].waiters;
      sides_[1].waiters = nullptr;
    }
  }
  wake_all(woken[0], &readied);
  wake_all(woken[1], &readied);
}

void poll_desc::on_deadline(timer* t, void*, std::int64_t now) {
  auto* dt = static_cast<deadline_timer*>(t);
  poll_desc* pd = dt->pd;
  pd_waiter* woken = nullptr;
  {
    std::lock_guard guard(pd->lock_);
    side& s = pd->of(dt->mode);
    if (s.deadline != 0 && s.deadline <= now) {
      woken = s.waiters;
      s.waiters = nullptr;
    }
  }
  wake_all(woken);
}

bool poll_desc::set_deadline(poll_mode mode, std::int64_t when, std::uint64_t gen) {
  std::lock_guard deadlines(deadline_mu_);
  side& s = of(mode);
  {
    std::lock_guard guard(lock_);
    if (closing_ || gen != gen_) return false;
  }
  disarm(s);
  runtime* rt = current_runtime();
  pd_waiter* woken = nullptr;
  bool arm = false;
  {
    std::lock_guard guard(lock_);
    if (closing_ || gen != gen_) return false;
    s.deadline = when;
    if (when != 0 && when <= nanotime()) {
      woken = s.waiters;  // already expired: waiters time out now
      s.waiters = nullptr;
    } else {
      arm = when != 0;
    }
  }
  if (arm && rt != nullptr) {
    s.timer.when = when;
    s.armed_in = rt->id();
    rt->add_timer(&s.timer);
  }
  wake_all(woken);
  return true;
}

}  // namespace goro::detail
