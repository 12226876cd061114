// netpoll/netpoll.hpp — the network poller (Go's runtime/netpoll.go).
//
// Owns: one poll_desc per registered file descriptor, the goroutines (and
// plain threads) waiting for it to become readable or writable, per-direction
// I/O deadlines, and the kernel poller behind them.
//
// Backend contract (netpoll_epoll.cpp today; io_uring or kqueue would
// implement the same five functions):
//   backend_init()            create the kernel poller and its wake-up fd (once)
//   backend_open(fd, pd)      register fd once, edge-triggered, for read and
//                             write readiness and hang-up, with pd as its cookie
//   backend_close(fd)         deregister fd (before it is closed)
//   backend_poll(delay_ns, readied)
//                             wait up to delay_ns (0: don't wait; <0: forever),
//                             calling pd->notify(readable, writable, readied)
//                             for each event; returns false if it was
//                             interrupted by backend_break() (or a signal)
//   backend_break()           make a blocked backend_poll return soon
// Readiness is an edge: notify() records it in the descriptor (`ready`), and
// a waiter consumes it. A stale or spurious edge only makes an operation retry
// its system call once, so descriptors can be recycled without tagging
// events: poll_descs are never freed, only reused.
//
// Scheduler integration (sched.cpp, exactly where Go polls): an M that finds
// no local work polls without blocking before it steals; the last M to go idle
// blocks in the poller until the next timer instead of sleeping on its futex,
// and is woken by backend_break() (a timer moved earlier, or work arrived for
// an idle M); sysmon polls if nobody has for 10 ms. The goroutines a poll
// readies come back as one list, which the scheduler injects as a batch
// (runtime::inject, Go's injectglist). All of this happens only
// while some goroutine waits on a descriptor (waiters() > 0): a program that
// does no I/O never touches the poller.
//
// Invariants: a waiter record is linked in its side's list exactly while its
// owner is blocked in wait(); it is unlinked (and then woken) by whoever ends
// the wait: a readiness event, a deadline, set_deadline, or close.
//
// Lock order: poll_desc::deadline_mu -> timer heap lock -> poll_desc::lock.
// Waiters are woken after poll_desc::lock is released.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "os/spinlock.hpp"
#include "sched/runq.hpp"
#include "timer/timer.hpp"

namespace goro::detail {

struct pd_waiter;

enum class poll_mode : std::uint8_t { read = 0, write = 1 };
// What wait() reports: go on and retry the system call, or stop.
enum class poll_result : std::uint8_t { ready, closed, timeout };

class poll_desc {
 public:
  // Registers fd (non-blocking) with the poller; throws std::system_error.
  // Descriptors are recycled: a user keeps the generation open() returned
  // (in *gen) and passes it back, so that a handle whose socket was closed
  // can never reach the socket that reuses its descriptor.
  static poll_desc* open(int fd, std::uint64_t* gen);

  // The fd while holding a reference (see acquire).
  int fd() const { return fd_; }
  // The fd if `gen` is still open, else -1.
  int fd_if(std::uint64_t gen);

  // An operation holds a reference while it uses the fd, so that close()
  // from another goroutine never closes it under a running system call.
  // acquire() fails once the descriptor is closing (closed) or, like Go's
  // prepareRead/prepareWrite, when the mode's deadline has passed (timeout).
  poll_result acquire(poll_mode mode, std::uint64_t gen);
  void release();

  // Blocks until the fd may be ready in `mode`, the deadline passes or the
  // descriptor is closed.
  poll_result wait(poll_mode mode);
  // Absolute deadline (nanotime) per direction; 0 = none, < now = expired.
  // Applies to waits in progress and later ones. False if `gen` is closed.
  bool set_deadline(poll_mode mode, std::int64_t when, std::uint64_t gen);
  // Starts closing: wakes every waiter (they see `closed`); the fd is closed
  // (and this descriptor recycled) when the last reference is released.
  // False if it was already closing (or `gen` is not the current one).
  bool close(std::uint64_t gen);

  // Backend: readiness edges for this descriptor. Goroutines woken are
  // appended to `readied` (the scheduler makes them runnable as a batch);
  // threads are woken at once.
  void notify(bool readable, bool writable, g_list& readied);

 private:
  struct deadline_timer : timer {
    poll_desc* pd = nullptr;
    poll_mode mode = poll_mode::read;
  };
  struct side {
    bool ready = false;
    std::int64_t deadline = 0;
    pd_waiter* waiters = nullptr;
    deadline_timer timer;
    std::uint64_t armed_in = 0;   // runtime::id() that armed the timer (deadline_mu)
  };
  side& of(poll_mode m) { return sides_[static_cast<int>(m)]; }
  static void on_deadline(timer* t, void* arg, std::int64_t now);
  void destroy();
  void disarm(side& s);  // with deadline_mu held

  std::mutex deadline_mu_;    // serialises set_deadline (see lock order)
  spinlock lock_;             // guards everything below
  int fd_ = -1;
  int refs_ = 0;
  std::uint64_t gen_ = 0;     // incremented by every open()
  bool closing_ = false;
  side sides_[2];
  poll_desc* next_free_ = nullptr;

  friend struct pd_pool;
};

// Goroutines and threads blocked in poll_desc::wait right now.
std::int32_t netpoll_waiters() noexcept;
// Nanotime of the last poll (0: never).
std::int64_t netpoll_last_poll() noexcept;
// Polls the kernel (see backend_poll). The goroutines waiting on every
// descriptor that became ready are appended to `readied`, for the caller to
// inject as one batch (Go's netpoll returns a gList for injectglist); waiting
// threads are woken. Returns false if interrupted by netpoll_break.
bool netpoll(std::int64_t delay_ns, g_list& readied);
void netpoll_break();

}  // namespace goro::detail
