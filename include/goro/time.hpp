// goro/time.hpp — Go's time.Sleep, After, Timer, Ticker and AfterFunc.
//
//   goro::sleep(10ms);                               // parks the goroutine
//   goro::select(goro::recv_case(ch, handle),
//                goro::recv_case(goro::after(1s), [](auto) { /* timed out */ }));
//   goro::ticker tick(100ms);
//   for (;;) { auto when = tick.c().recv(); ... }
//
// Time is std::chrono::steady_clock. Timers are kept in per-processor heaps
// and run by the scheduler; a runtime with nothing to do sleeps until the
// next timer. From a plain thread (not a goroutine), sleep() sleeps the
// thread; the other functions need a running goro::run.
//
// Stop and reset follow Go 1.23: they return true if the call stopped a
// pending timer (or removed a fire-time value not yet received), and after
// they return, no stale value is ever received from c().
#pragma once

#include <chrono>
#include <functional>

#include "goro/chan.hpp"
#include "goro/export.hpp"

namespace goro {

using clock = std::chrono::steady_clock;

namespace detail {
struct timer_state;
}

// Go's time.Sleep: pauses the calling goroutine for at least d; d <= 0
// returns at once.
GORO_EXPORT void sleep(std::chrono::nanoseconds d);

// Go's time.After: a channel that receives the fire time once, after d.
GORO_EXPORT recv_chan<clock::time_point> after(std::chrono::nanoseconds d);

// Go's time.Timer (NewTimer / AfterFunc). Move-only; destroying it does not
// stop it: a pending timer fires (and is freed) even if nobody holds it.
class GORO_EXPORT timer {
 public:
  // Go's NewTimer: c() receives the fire time once, after d.
  explicit timer(std::chrono::nanoseconds d);
  timer(timer&& o) noexcept;
  timer& operator=(timer&& o) noexcept;
  ~timer();

  // The channel the fire time is sent on (nil for an after_func timer).
  recv_chan<clock::time_point> c() const;
  // Prevents the timer from firing; true if it was pending.
  bool stop();
  // Re-arms the timer to fire after d; true if it was pending.
  bool reset(std::chrono::nanoseconds d);

 private:
  friend GORO_EXPORT timer after_func(std::chrono::nanoseconds d, std::function<void()> f);
  explicit timer(detail::timer_state* s) noexcept : s_(s) {}
  detail::timer_state* s_;
};

// Go's time.AfterFunc: runs f in its own goroutine after d; the returned
// timer's stop() prevents that if it has not started.
GORO_EXPORT timer after_func(std::chrono::nanoseconds d, std::function<void()> f);

// Go's time.Ticker: c() receives the time every d. One tick is buffered;
// ticks missed by a slow receiver are dropped and the phase is kept. A
// non-positive d throws goro::panic_error("non-positive interval for
// NewTicker"). Move-only; destroying it stops it.
class GORO_EXPORT ticker {
 public:
  explicit ticker(std::chrono::nanoseconds d);
  ticker(ticker&& o) noexcept;
  ticker& operator=(ticker&& o) noexcept;
  ~ticker();

  recv_chan<clock::time_point> c() const;
  void stop();
  // Changes the period to d (> 0) and restarts the phase from now.
  void reset(std::chrono::nanoseconds d);

 private:
  detail::timer_state* s_;
};

}  // namespace goro
