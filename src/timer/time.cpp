// timer/time.cpp — goro/time.hpp on the scheduler's timer heaps.
//
// A timer_state is one timer (timer.hpp) plus what its firing does: send the
// fire time on its channel (Timer, After, Ticker) or start a goroutine
// (AfterFunc). It is reference counted: one reference for its handle (none
// for after()), one while it is pending in a heap. stop/reset serialise on
// the state's own lock; a firing runs under the heap lock (timer.hpp), so
// once stop() has removed the timer, nothing of it runs any more, and the
// value it may already have sent is drained from the channel (Go 1.23: no
// stale value after Stop/Reset).
//
// Lock order: timer_state::mu -> timer_heap::lock -> channel lock.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "goro/panic.hpp"
#include "goro/runtime.hpp"
#include "chan/chan.hpp"
#include "goro/time.hpp"
#include "os/spinlock.hpp"
#include "sched/sched.hpp"
#include "timer/timer.hpp"

namespace goro {
namespace detail {

struct timer_state {
  timer t;  // first: fire() casts back
  spinlock mu;
  std::atomic<int> refs{0};
  chan<clock::time_point> ch;  // nil for after_func
  std::function<void()> fn;    // after_func only

  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

namespace {

runtime& require_runtime() {
  runtime* rt = current_runtime();
  if (rt == nullptr) throw std::logic_error("goro: timers need a running goro::run");
  return *rt;
}

// now + d, saturated: a fire time past the end of time never comes (Go's when()).
std::int64_t deadline_after(std::int64_t d, std::int64_t now = nanotime()) {
  if (d <= 0) return now;
  return d > INT64_MAX - now ? INT64_MAX : now + d;
}

clock::time_point to_time_point(std::int64_t ns) {
  return clock::time_point(std::chrono::duration_cast<clock::duration>(std::chrono::nanoseconds(ns)));
}

void fire_state(timer* t, void*, std::int64_t now) {
  auto* s = reinterpret_cast<timer_state*>(t);
  if (s->fn) {
    go(s->fn);
  } else {
    s->ch.try_send(to_time_point(now));  // a ticker drops the tick if one is buffered
  }
  if (t->period == 0) s->release();  // the heap's reference
}

void discard_state(timer* t) { reinterpret_cast<timer_state*>(t)->release(); }

// Arms s to fire at now + d (s->mu held, or s not yet shared).
void arm(runtime& rt, timer_state* s, std::int64_t d) {
  s->t.when = deadline_after(d);
  s->retain();  // the heap's reference
  rt.add_timer(&s->t);
}

// Disarms s (s->mu held); true if it was pending.
bool disarm(runtime& rt, timer_state* s) {
  if (!rt.del_timer(&s->t)) return false;
  s->release();  // the heap's reference; the handle still holds one
  return true;
}

bool drain(timer_state* s) { return s->ch && s->ch.try_recv().status == recv_status::ok; }

timer_state* new_state(std::int64_t period, bool with_channel) {
  auto* s = new timer_state;
  s->t.fire = &fire_state;
  s->t.discard = &discard_state;
  s->t.period = period;
  if (with_channel) {
    // Go 1.23: a timer's channel looks unbuffered (len and cap are 0); the
    // one slot only holds a fire time until it is received or drained.
    s->ch = make_chan<clock::time_point>(1);
    chan_hide_buffer(s->ch.core());
  }
  return s;
}

}  // namespace
}  // namespace detail

void sleep(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return;
  detail::G* g = detail::current_g();
  if (g == nullptr) {
    std::this_thread::sleep_for(d);
    return;
  }
  struct sleeper {
    detail::timer t;
    detail::runtime* rt;
  } s;
  s.rt = detail::current_runtime();
  std::int64_t now = detail::nanotime();
  s.t.when = detail::deadline_after(d.count(), now);
  s.t.removable = false;
  s.t.arg = g;
  s.t.fire = [](detail::timer*, void* sleeping_g, std::int64_t) {
    // Only the FIFO entry is read: the timer sits on the sleeper's cold
    // stack. Timers run on the Ms of their own runtime, the current one.
    detail::current_runtime()->ready(static_cast<detail::G*>(sleeping_g));
  };
  // The timer is armed only once the goroutine is off its stack.
  s.rt->park(
      [](void* p, detail::G*) {
        auto* s = static_cast<sleeper*>(p);
        s->rt->add_timer(&s->t);
        return true;
      },
      &s, "sleep", now);
}

recv_chan<clock::time_point> after(std::chrono::nanoseconds d) {
  detail::runtime& rt = detail::require_runtime();
  detail::timer_state* s = detail::new_state(0, true);
  recv_chan<clock::time_point> c = s->ch;
  detail::arm(rt, s, d.count());  // the heap holds the only reference
  return c;
}

timer::timer(std::chrono::nanoseconds d) : s_(nullptr) {
  detail::runtime& rt = detail::require_runtime();
  s_ = detail::new_state(0, true);
  s_->retain();  // the handle
  detail::arm(rt, s_, d.count());
}

timer after_func(std::chrono::nanoseconds d, std::function<void()> f) {
  if (!f) detail::fatal("go of nil func value");
  detail::runtime& rt = detail::require_runtime();
  detail::timer_state* s = detail::new_state(0, false);
  s->fn = std::move(f);
  s->retain();  // the handle
  detail::arm(rt, s, d.count());
  return timer(s);
}

timer::timer(timer&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
timer& timer::operator=(timer&& o) noexcept {
  if (this != &o) {
    if (s_) s_->release();
    s_ = std::exchange(o.s_, nullptr);
  }
  return *this;
}
timer::~timer() {
  if (s_) s_->release();
}

recv_chan<clock::time_point> timer::c() const {
  return s_ ? recv_chan<clock::time_point>(s_->ch) : recv_chan<clock::time_point>();
}

bool timer::stop() {
  if (!s_) throw panic_error("time: Stop called on uninitialized Timer");
  detail::runtime& rt = detail::require_runtime();
  std::lock_guard lock(s_->mu);
  bool pending = detail::disarm(rt, s_);
  bool drained = detail::drain(s_);
  return pending || drained;
}

bool timer::reset(std::chrono::nanoseconds d) {
  if (!s_) throw panic_error("time: Reset called on uninitialized Timer");
  detail::runtime& rt = detail::require_runtime();
  std::lock_guard lock(s_->mu);
  bool pending = detail::disarm(rt, s_);
  bool drained = detail::drain(s_);
  detail::arm(rt, s_, d.count());
  return pending || drained;
}

ticker::ticker(std::chrono::nanoseconds d) : s_(nullptr) {
  if (d.count() <= 0) throw panic_error("non-positive interval for NewTicker");
  detail::runtime& rt = detail::require_runtime();
  s_ = detail::new_state(d.count(), true);
  s_->retain();  // the handle
  detail::arm(rt, s_, d.count());
}

ticker::ticker(ticker&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
ticker& ticker::operator=(ticker&& o) noexcept {
  if (this != &o) {
    if (s_) {
      stop();
      s_->release();
    }
    s_ = std::exchange(o.s_, nullptr);
  }
  return *this;
}
ticker::~ticker() {
  if (!s_) return;
  if (detail::current_runtime() != nullptr) stop();
  s_->release();
}

recv_chan<clock::time_point> ticker::c() const {
  return s_ ? recv_chan<clock::time_point>(s_->ch) : recv_chan<clock::time_point>();
}

void ticker::stop() {
  if (!s_) return;  // like Go's Stop on a Ticker that never started
  detail::runtime& rt = detail::require_runtime();
  std::lock_guard lock(s_->mu);
  detail::disarm(rt, s_);
  detail::drain(s_);
}

void ticker::reset(std::chrono::nanoseconds d) {
  if (d.count() <= 0) throw panic_error("non-positive interval for Ticker.Reset");
  if (!s_) throw panic_error("time: Reset called on uninitialized Ticker");
  detail::runtime& rt = detail::require_runtime();
  std::lock_guard lock(s_->mu);
  detail::disarm(rt, s_);
  detail::drain(s_);
  s_->t.period = d.count();
  detail::arm(rt, s_, d.count());
}

}  // namespace goro
