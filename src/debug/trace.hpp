// debug/trace.hpp — the scheduler's trace hooks (goro::trace, goro/trace.hpp).
//
// Owns: the process-wide "tracing on" flag and the hooks the scheduler,
// timers and poller call at each event. A hook costs one relaxed load and a
// branch predicted not taken while no trace is recorded; the recording path
// (trace.cpp) is out of line and cold.
//
// Recording (trace.cpp): every thread that records an event owns a buffer of
// fixed-size binary records and appends to it without a lock or an
// allocation; a full buffer is handed to the writer thread (under
// trace.cpp's writer lock, once per buffer), which formats JSON into the
// file. Events name their processor (P index, the track they are drawn on)
// or, on a thread without a P, the thread's own track.
//
// Invariants the hooks rely on (see sched.hpp):
//  - go_switch is called inside the runtime (in_runtime > 0) before the
//    context switch, so m->p is the M's P for certain (retake backs off);
//    m->post already says why `from` stops (park with its reason, yield, exit).
//  - retake is called by sysmon after it saw in_runtime == 0 (acquire) and
//    before it commits: the M's goroutine is in user code and m->curg stable.
//  - Hooks may be called from goroutines, g0, sysmon and plain threads.
//
// Lock order (trace.cpp): api lock -> registry lock -> a thread's busy flag
// (spun on by stop) -> writer lock. Hooks take no scheduler lock; the
// scheduler may call hooks while holding any of its locks.
#pragma once

#include <atomic>
#include <cstdint>

#include "debug/sanitizer.hpp"  // GORO_TSAN

namespace goro::detail {

struct G;
struct M;
struct P;

namespace tr {

extern std::atomic<bool> on;

// The test every hook makes. On x86-64 a compare of the flag in memory and
// a jump (asm goto: compilers load an atomic into a register and test it, one
// instruction more, which the switch and ready paths pay at every call). The
// recording path re-reads `on` with the ordering it needs, so this is only a
// hint; TSan builds use the plain atomic load it understands.
[[gnu::always_inline]] inline bool enabled() noexcept {
#if defined(__x86_64__) && !GORO_TSAN
  asm goto("cmpb $0, %0\n\tjne %l[yes]" : : "m"(on) : "cc" : yes);
  return false;
yes:
  return true;
#else
  return on.load(std::memory_order_relaxed);
#endif
}

// The recording side (trace.cpp), called only when enabled().
[[gnu::cold, gnu::noinline]] void record_create(const G* g) noexcept;
[[gnu::cold, gnu::noinline]] void record_switch(const M* m, const G* from, const G* to) noexcept;
[[gnu::cold, gnu::noinline]] void record_ready(const G* g) noexcept;
[[gnu::cold, gnu::noinline]] void record_blocking(bool enter) noexcept;
[[gnu::cold, gnu::noinline]] void record_retake(const P* p, const M* m) noexcept;
[[gnu::cold, gnu::noinline]] void record_steal(const P* self, const P* victim, bool runnext) noexcept;
[[gnu::cold, gnu::noinline]] void record_idle(bool begin) noexcept;
[[gnu::cold, gnu::noinline]] void record_spare(bool begin) noexcept;
[[gnu::cold, gnu::noinline]] void record_timer(std::int64_t when, std::int64_t now) noexcept;
[[gnu::cold, gnu::noinline]] void record_netpoll(int events, std::int64_t delay_ns) noexcept;

// --- hooks -------------------------------------------------------------------
// A goroutine was made runnable for the first time (before it is published).
inline void go_create(const G* g) noexcept {
  if (enabled()) [[unlikely]] record_create(g);
}
// m switches from `from` to `to` (either may be m's g0).
inline void go_switch(const M* m, const G* from, const G* to) noexcept {
  if (enabled()) [[unlikely]] record_switch(m, from, to);
}
// g is readied by the calling context.
inline void go_ready(const G* g) noexcept {
  if (enabled()) [[unlikely]] record_ready(g);
}
// The current goroutine enters / has left goro::blocking.
inline void blocking(bool enter) noexcept {
  if (enabled()) [[unlikely]] record_blocking(enter);
}
// sysmon takes p from m (see the invariants above).
inline void retake(const P* p, const M* m) noexcept {
  if (enabled()) [[unlikely]] record_retake(p, m);
}
// self stole from victim's queue (or its runnext).
inline void steal(const P* self, const P* victim, bool runnext) noexcept {
  if (enabled()) [[unlikely]] record_steal(self, victim, runnext);
}
// The calling M (holding its P) starts / stops sleeping for lack of work.
inline void idle(bool begin) noexcept {
  if (enabled()) [[unlikely]] record_idle(begin);
}
// The calling M, without a P, starts / stops waiting for one.
inline void spare(bool begin) noexcept {
  if (enabled()) [[unlikely]] record_spare(begin);
}
// A timer due at `when` fires at `now`.
inline void timer_fire(std::int64_t when, std::int64_t now) noexcept {
  if (enabled()) [[unlikely]] record_timer(when, now);
}
// The poller returned `events` events (delay_ns: how long it could wait).
inline void netpoll(int events, std::int64_t delay_ns) noexcept {
  if (enabled()) [[unlikely]] record_netpoll(events, delay_ns);
}

// Labels the calling thread's track ("M", "sysmon"); a string literal.
// Not a hook: called once when a runtime thread starts.
void name_thread(const char* label) noexcept;
// run() is returning: stops a trace being recorded (errors are dropped).
void runtime_ended() noexcept;

}  // namespace tr
}  // namespace goro::detail
