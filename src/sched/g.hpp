// sched/g.hpp — the goroutine record (Go's g).
//
// Owns nothing but data. A G is created by go(), gets a stack when it first
// runs (so a million goroutines that have not started cost only their
// records), and is recycled through per-P free lists when it exits.
//
// Status transitions (all through the scheduler, sched.cpp):
//   runnable --execute--> running --park--> waiting --ready--> runnable
//   running --yield--> runnable;  running --exit--> dead --reuse--> runnable
// Who may touch what:
//   - sp, stack, fiber, eh, saved_errno: the context switch only, while the G
//     is not running (written when it switches out, read when it switches in).
//   - schedlink: whichever queue or free list holds the G (one at a time).
//   - closure fields: written by go() before the G is published, read by the G.
//   - status, wait_reason: atomic, for diagnostics and assertions.
//   - locked_m: written by the G while it runs (lock_os_thread).
//   - status: atomic. `waiting` is stored (release) by the post-switch action
//     of the park, i.e. once the G is off its stack: a dumper that reads
//     `waiting` (acquire) sees its final sp, wait_reason and wait_since.
//   - id, parent_id, created_at: written by new_g; atomic (relaxed) because a
//     goroutine dump reads them from records it cannot stop (running Gs).
//   - scan: set by a goroutine dump (debug/dump.cpp) while it unwinds this G's
//     stack; switch_to waits for it to clear before resuming the G. The pair
//     "switch_to: store status running; load scan" / "dump: store scan;
//     heavy barrier; load status" is the retake handshake's Dekker pattern.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "debug/sanitizer.hpp"
#include "goro/runtime.hpp"
#include "stack/stack.hpp"

namespace goro::detail {

enum class gstatus : std::uint32_t { idle, runnable, running, waiting, dead };

// The C++ runtime's per-thread exception state (libstdc++/libc++abi
// __cxa_eh_globals: the caught-exception stack and the uncaught count). It
// belongs to the goroutine, not the thread, so it travels with the G.
struct eh_state {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};

struct G {
  void* sp = nullptr;          // saved stack pointer while switched out
  stack stk;                   // empty until first run (g0: the thread's stack)
  G* schedlink = nullptr;      // run queue / free list link
  // Valid on the first G of a batch in the global run queue only.
  G* batch_next = nullptr;     // the next batch
  G* batch_tail = nullptr;     // the last G of this batch
  std::atomic<std::uint64_t> id{0};
  std::atomic<std::uint64_t> parent_id{0};            // 0: started from a plain thread
  std::atomic<const void*> created_at{nullptr};       // the go() call (see detail::site_of)
  const char* wait_reason = nullptr;
  eh_state eh;
  const closure_ops* ops = nullptr;
  void* closure = nullptr;              // points into inline_closure or the heap
  // While waiting: how to unlink its waiter records if the runtime ends
  // first (parker::block). Written by the G itself.
  void (*unlink_wait)(void* arg) = nullptr;
  void* unlink_arg = nullptr;
  // lock_os_thread: the M this G is wired to (written by the G itself while
  // it runs; read by whichever M dequeues it, after the queue's publication).
  struct M* locked_m = nullptr;
  // Four-byte fields, then single bytes, so the inline closure starts at 160
  // (sizeof(G) is part of every parked goroutine's cost: bench/park_memory).
  std::int32_t batch_size = 0;          // with batch_next
  std::atomic<gstatus> status{gstatus::idle};
  int saved_errno = 0;
  std::uint32_t custom_stack_size = 0;  // nonzero: go_options.stack_size
  // When the current wait began, in whole seconds of the runtime's coarse
  // clock (runtime::coarse_seconds, kept by sysmon; no clock read at park).
  std::uint32_t wait_since = 0;
  std::uint8_t closure_align_log2 = 0;  // alignment of a closure on the heap
  bool is_g0 = false;
  std::atomic<std::uint8_t> scan{0};    // 1: a dump is reading this G's stack
  sanitizer::fiber_state fiber;
  static constexpr std::size_t inline_closure_size = 48;
  alignas(std::max_align_t) unsigned char inline_closure[inline_closure_size];

  bool closure_on_heap() const { return closure != nullptr && closure != inline_closure; }
  std::align_val_t closure_alignment() const {
    return std::align_val_t{std::size_t{1} << closure_align_log2};
  }
};

}  // namespace goro::detail
