// goro/errgroup.hpp — golang.org/x/sync/errgroup: a group of goroutines
// working on subtasks of one task, with the first error and cancellation.
//
//   goro::errgroup g(ctx);                       // Go's errgroup.WithContext(ctx)
//   g.set_limit(8);                              // at most 8 tasks at a time
//   for (auto& url : urls)
//     g.go([&, url](const goro::context& ctx) { fetch(ctx, url); });   // may throw
//   if (std::exception_ptr e = g.wait()) std::rethrow_exception(e);
//
// A task is a callable taking nothing or the group's context, returning void
// or std::error_code. Its error is what it throws, or the std::error_code it
// returns (non-empty), as a std::system_error. The group keeps the first
// error as a std::exception_ptr — the standard carrier of an arbitrary C++
// error, as std::future uses — which wait() returns (null if every task
// succeeded), so a caller may rethrow it or inspect it. The derived context
// (ctx()) is canceled on the first error, with that error's code as its
// cause() if it has one (a std::system_error, which includes returned
// codes), and when wait() returns.
//
// The destructor waits for the group's goroutines, like std::jthread joins
// its thread. The group is neither copyable nor movable (its goroutines
// refer to it).
#pragma once

#include <concepts>
#include <exception>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "goro/chan.hpp"
#include "goro/context.hpp"
#include "goro/export.hpp"
#include "goro/runtime.hpp"
#include "goro/sync.hpp"
#include "goro/wait_group.hpp"

namespace goro {
namespace detail {

template <class F>
decltype(auto) call_task(F& f, const context& ctx) {
  if constexpr (std::invocable<F&, const context&>) {
    return f(ctx);
  } else {
    return f();
  }
}

template <class F>
concept errgroup_task =
    (std::invocable<F&> || std::invocable<F&, const context&>) &&
    requires(F& f, const context& c) {
      requires std::is_void_v<decltype(call_task(f, c))> ||
                   std::is_convertible_v<decltype(call_task(f, c)), std::error_code>;
    };

}  // namespace detail

class GORO_EXPORT errgroup {
 public:
  // Go's zero Group: no context, no limit; ctx() is background().
  errgroup() noexcept;
  // Go's errgroup.WithContext(parent): ctx() is derived from parent and is
  // canceled on the first error, or when wait() returns.
  explicit errgroup(const context& parent);
  errgroup(const errgroup&) = delete;
  errgroup& operator=(const errgroup&) = delete;
  ~errgroup();

  const context& ctx() const noexcept { return ctx_; }

  // Starts f in a new goroutine; first waits, if a limit is set, until
  // fewer than that many of the group's goroutines are active.
  template <class F>
  void go(F&& f) {
    static_assert(detail::errgroup_task<std::decay_t<F>>,
                  "an errgroup task takes nothing or a const goro::context&, and returns "
                  "void or std::error_code");
    if (sem_) sem_.send(std::monostate{});
    start(std::forward<F>(f));
  }
  // Starts f only if the limit allows it now; false (f not started) if not.
  template <class F>
  bool try_go(F&& f) {
    static_assert(detail::errgroup_task<std::decay_t<F>>,
                  "an errgroup task takes nothing or a const goro::context&, and returns "
                  "void or std::error_code");
    if (sem_ && !sem_.try_send(std::monostate{})) return false;
    start(std::forward<F>(f));
    return true;
  }
  // At most n active goroutines (n < 0: no limit). Throws goro::panic_error
  // if any goroutine of the group is active (Go's "errgroup: modify limit
  // while N goroutines in the group are still active").
  void set_limit(int n);
  // Waits for every goroutine started so far; returns the first error (null
  // if none) and cancels ctx().
  [[nodiscard]] std::exception_ptr wait();

 private:

  template <class F>
  void start(F&& f) {
    wg_.add(1);
    try {
      goro::go([this, fn = std::decay_t<F>(std::forward<F>(f))]() mutable { run(fn); });
    } catch (...) {
      done();
      throw;
    }
  }

  template <class F>
  void run(F& fn) {
    struct finish {
      errgroup* g;
      ~finish() { g->done(); }
    } at_end{this};
    try {
      if constexpr (std::is_void_v<decltype(detail::call_task(fn, ctx_))>) {
        detail::call_task(fn, ctx_);
      } else if (std::error_code ec = detail::call_task(fn, ctx_)) {
        record(std::make_exception_ptr(std::system_error(ec)));
      }
    } catch (...) {
      record(std::current_exception());
    }
  }
  void record(std::exception_ptr e);
  void done();

  wait_group wg_;
  chan<std::monostate> sem_;  // the limit's tokens; nil: no limit
  context ctx_;
  cancel_cause_func cancel_;
  once err_once_;
  std::exception_ptr err_;    // the first error, set through err_once_
};

}  // namespace goro
