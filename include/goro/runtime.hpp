// goro/runtime.hpp — starting the runtime and goroutines.
//
//   int main() {
//     return goro::run([] {            // the main goroutine (goroutine 1)
//       goro::go([] { ... });          // spawn: never blocks
//       return 0;                      // run() returns this
//     });
//   }
//
// A goroutine is a stackful task scheduled M:N on `procs` processors (Go's
// GOMAXPROCS). It switches only at goro operations (channel, sync, time and
// I/O calls, yield()); a goroutine may resume on another OS thread after any
// of them, so `thread_local` variables are per thread, not per goroutine.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#if __has_include(<source_location>)
#include <source_location>
#endif
#include <bit>
#include <tuple>
#include <type_traits>
#include <utility>

#include "goro/export.hpp"

namespace goro {

// Runtime configuration; every field has a default.
struct config {
  // Number of processors (Go's GOMAXPROCS). 0: the GOMAXPROCS environment
  // variable if set, else the number of hardware threads.
  int procs = 0;
  // Virtual size of each goroutine stack in bytes, guard page included.
  // Pages are committed lazily by the kernel, so a goroutine that uses 4 KiB
  // of stack costs 4 KiB of memory whatever this is. 0: 256 KiB. Rounded up
  // to whole pages; at least 16 KiB.
  std::size_t stack_size = 0;
  // Most OS threads the scheduler may run (Go's debug.SetMaxThreads). Threads
  // beyond procs are made when a goroutine blocks its thread (goro::blocking,
  // a long system call or loop) while others wait; past this limit the
  // process ends with "fatal error: thread exhaustion".
  int max_threads = 10000;
};

// Per-goroutine options for go(go_options{...}, f, args...).
struct go_options {
  // Stack size for this goroutine (0: the runtime's default). Stacks of the
  // default size are pooled; others are mapped and unmapped per goroutine.
  std::size_t stack_size = 0;
};

namespace detail {

// How the runtime calls and destroys a type-erased goroutine body.
struct closure_ops {
  void (*invoke)(void* self);
  void (*destroy)(void* self) noexcept;
};

// A goroutine record being prepared by go(): `storage` receives the body.
struct spawn_slot {
  void* g;
  void* storage;
};

// Where go() was called (the "created by" line of a goroutine dump): a
// pointer to static data laid out as { const char* file; const char*
// function; unsigned line; unsigned column; } — the data of a
// std::source_location (the layout __builtin_source_location fills, in GCC
// and clang >= 15), or, where the standard library has no
// std::source_location (clang 14 with libstdc++), an entry interned by
// intern_site. Null: unknown. The runtime keeps just the pointer.
#if defined(__cpp_lib_source_location)
#define GORO_DETAIL_SITE_PARAM ::std::source_location site = ::std::source_location::current()
inline const void* site_of(std::source_location loc) noexcept {
  return std::bit_cast<const void*>(loc);
}
#else
struct site_values {
  const char* file;
  const char* function;
  unsigned line;
  explicit site_values(const char* f, const char* fn, unsigned l) noexcept
      : file(f), function(fn), line(l) {}
};
#define GORO_DETAIL_SITE_PARAM                                                           \
  ::goro::detail::site_values site = ::goro::detail::site_values(__builtin_FILE(),      \
                                                                 __builtin_FUNCTION(),  \
                                                                 __builtin_LINE())
#endif
GORO_EXPORT const void* intern_site(const char* file, const char* function,
                                    unsigned line) noexcept;
#if !defined(__cpp_lib_source_location)
inline const void* site_of(const site_values& v) noexcept {
  return intern_site(v.file, v.function, v.line);
}
#endif

GORO_EXPORT spawn_slot goroutine_alloc(std::size_t size, std::size_t align,
                                       const closure_ops* ops,
                                       const go_options* opts,
                                       const void* site);
GORO_EXPORT void goroutine_discard(spawn_slot slot) noexcept;
GORO_EXPORT void goroutine_start(spawn_slot slot);
[[noreturn]] GORO_EXPORT void fatal(const char* message) noexcept;
GORO_EXPORT int run_main(const config& cfg, int (*body)(void*), void* arg);

template <class T>
inline constexpr bool is_std_function_v = false;
template <class R, class... A>
inline constexpr bool is_std_function_v<std::function<R(A...)>> = true;

template <class F, class... Args>
struct closure {
  F fn;
  std::tuple<Args...> args;
  void operator()() { std::apply(std::move(fn), std::move(args)); }
};

template <class C>
inline constexpr closure_ops closure_ops_for{
    [](void* self) { (*static_cast<C*>(self))(); },
    [](void* self) noexcept { static_cast<C*>(self)->~C(); }};

template <class F, class... Args>
void spawn(const go_options* opts, const void* site, F&& f, Args&&... args) {
  using Fn = std::decay_t<F>;
  // A function (not a pointer to one) can never be null.
  if constexpr ((std::is_pointer_v<Fn> && !std::is_function_v<std::remove_reference_t<F>>) ||
                std::is_member_pointer_v<Fn> || is_std_function_v<Fn>) {
    if (!f) fatal("go of nil func value");
  }
  using C = std::conditional_t<sizeof...(Args) == 0, Fn,
                               closure<Fn, std::decay_t<Args>...>>;
  spawn_slot slot = goroutine_alloc(sizeof(C), alignof(C), &closure_ops_for<C>, opts, site);
  try {
    if constexpr (sizeof...(Args) == 0) {
      ::new (slot.storage) C(std::forward<F>(f));
    } else {
      ::new (slot.storage) C{std::forward<F>(f), {std::forward<Args>(args)...}};
    }
  } catch (...) {
    goroutine_discard(slot);
    throw;
  }
  goroutine_start(slot);
}

}  // namespace detail

// Runs `main_fn` as the main goroutine on a fresh runtime and returns its exit
// code (0 for a void main) once it returns. Goroutines still alive then are
// discarded, as Go discards them at exit: they never run again; their
// callables and bound arguments are destroyed, the objects on their stacks
// are not. A goroutine that never
// reaches a switch point keeps its thread busy and delays run()'s return.
// One runtime runs at a time per process; run() may be called again after it
// returns.
template <class F>
  requires std::invocable<F&>
int run(F&& main_fn, const config& cfg = {}) {
  auto body = [](void* p) -> int {
    auto& fn = *static_cast<std::remove_reference_t<F>*>(p);
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      fn();
      return 0;
    } else {
      return static_cast<int>(fn());
    }
  };
  return detail::run_main(cfg, body, const_cast<void*>(static_cast<const void*>(std::addressof(main_fn))));
}

// Starts `f(args...)` as a new goroutine. f and args are decay-copied (moved
// from rvalues) like std::thread's. Callable from goroutines and, while a
// runtime runs, from any other thread. An exception escaping f ends the
// process with Go's panic report (exit status 2). An empty std::function or a
// null function pointer is Go's "fatal error: go of nil func value".
//
//   goro::go(f, args...);
//   goro::go(goro::go_options{.stack_size = n}, f, args...);
//
// The call site is recorded for goroutine dumps ("created by ... in
// goroutine N" and its file:line). That needs a defaulted
// std::source_location (or, without one, __builtin_FILE/FUNCTION/LINE)
// parameter after the arguments, so go() is a set of
// overloads for 0 to 8 arguments (a class template with a deduction guide
// would turn `goro::go(f);` into a declaration of a variable f). With more
// than 8 arguments the goroutine still starts, without a creation site.
template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>>
void go(F&& f, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f));
}
template <class F>
  requires std::invocable<std::decay_t<F>>
void go(const go_options& opts, F&& f,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f));
}

template <class F, class A1>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>>
void go(F&& f, A1&& a1, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1));
}
template <class F, class A1>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>>
void go(const go_options& opts, F&& f, A1&& a1,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1));
}

template <class F, class A1, class A2>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>>
void go(F&& f, A1&& a1, A2&& a2, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2));
}
template <class F, class A1, class A2>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>>
void go(const go_options& opts, F&& f, A1&& a1, A2&& a2,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2));
}

template <class F, class A1, class A2, class A3>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3));
}
template <class F, class A1, class A2, class A3>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>>
void go(const go_options& opts, F&& f, A1&& a1, A2&& a2, A3&& a3,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3));
}

template <class F, class A1, class A2, class A3, class A4>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4));
}
template <class F, class A1, class A2, class A3, class A4>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>>
void go(const go_options& opts, F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4));
}

template <class F, class A1, class A2, class A3, class A4, class A5>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5));
}
template <class F, class A1, class A2, class A3, class A4, class A5>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>>
void go(const go_options& opts, F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5));
}

template <class F, class A1, class A2, class A3, class A4, class A5, class A6>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>, std::decay_t<A6>>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6));
}
template <class F, class A1, class A2, class A3, class A4, class A5, class A6>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>, std::decay_t<A6>>
void go(const go_options& opts, F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6));
}

template <class F, class A1, class A2, class A3, class A4, class A5, class A6, class A7>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>, std::decay_t<A6>, std::decay_t<A7>>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7));
}
template <class F, class A1, class A2, class A3, class A4, class A5, class A6, class A7>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>, std::decay_t<A6>, std::decay_t<A7>>
void go(const go_options& opts, F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7));
}

template <class F, class A1, class A2, class A3, class A4, class A5, class A6, class A7, class A8>
  requires(!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>, std::decay_t<A6>, std::decay_t<A7>, std::decay_t<A8>>
void go(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, A8&& a8, GORO_DETAIL_SITE_PARAM) {
  detail::spawn(nullptr, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7), std::forward<A8>(a8));
}
template <class F, class A1, class A2, class A3, class A4, class A5, class A6, class A7, class A8>
  requires std::invocable<std::decay_t<F>, std::decay_t<A1>, std::decay_t<A2>, std::decay_t<A3>, std::decay_t<A4>, std::decay_t<A5>, std::decay_t<A6>, std::decay_t<A7>, std::decay_t<A8>>
void go(const go_options& opts, F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, A8&& a8,
        GORO_DETAIL_SITE_PARAM) {
  detail::spawn(&opts, detail::site_of(site), std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7), std::forward<A8>(a8));
}

template <class F, class... Args>
  requires(sizeof...(Args) > 8) && (!std::same_as<std::remove_cvref_t<F>, go_options>) &&
          std::invocable<std::decay_t<F>, std::decay_t<Args>...>
void go(F&& f, Args&&... args) {
  detail::spawn(nullptr, nullptr, std::forward<F>(f), std::forward<Args>(args)...);
}
template <class F, class... Args>
  requires(sizeof...(Args) > 8) && std::invocable<std::decay_t<F>, std::decay_t<Args>...>
void go(const go_options& opts, F&& f, Args&&... args) {
  detail::spawn(&opts, nullptr, std::forward<F>(f), std::forward<Args>(args)...);
}

#undef GORO_DETAIL_SITE_PARAM

namespace detail {
GORO_EXPORT void blocking_enter() noexcept;
GORO_EXPORT void blocking_exit() noexcept;
}  // namespace detail

// Runs f() — a call known to block its thread (file I/O, a C library, a
// lock of another library) — and returns its result. Like Go's entersyscall:
// if f takes longer than one sysmon tick (20 us when busy, up to 10 ms after
// a quiet period, as in Go) while other goroutines
// wait, the processor is handed to another thread so they keep running;
// when f returns, the goroutine continues on whichever thread has a
// processor. Calls that are not marked get the same treatment after 10 ms.
// On a plain thread it just calls f.
template <class F>
  requires std::invocable<F&&>
decltype(auto) blocking(F&& f) {
  struct exit_guard {
    ~exit_guard() { detail::blocking_exit(); }
  };
  detail::blocking_enter();
  exit_guard guard;
  return std::invoke(std::forward<F>(f));
}

// Go's runtime.Gosched: lets other goroutines run; the caller stays runnable.
// On a thread that is not a goroutine it yields the thread.
GORO_EXPORT void yield();

// Go's runtime.LockOSThread: wires the calling goroutine to the thread it
// runs on. Until a matching unlock_os_thread (calls nest: each lock needs
// its unlock), it runs only on that thread and the thread runs no other
// goroutine; when it blocks, its processor moves to another thread. For
// code that needs thread affinity (thread-local state of a C library, OpenGL,
// a per-thread signal mask). A goroutine that returns while still locked
// ends its thread, as in Go: no goroutine runs on it again.
// No-ops on a thread that is not a goroutine.
GORO_EXPORT void lock_os_thread();
// Undoes one lock_os_thread; at zero the goroutine may move again. A call
// without a lock is a no-op (as in Go).
GORO_EXPORT void unlock_os_thread();

// Number of goroutines that exist (started and not yet returned), main included.
GORO_EXPORT std::int64_t num_goroutine();

// The number of processors of the running runtime (0 if none runs).
GORO_EXPORT int maxprocs();

// The calling goroutine's id (the main goroutine is 1); 0 on a plain thread.
GORO_EXPORT std::uint64_t goid();

}  // namespace goro
