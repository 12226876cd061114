// tests/conformance/conformance.hpp — helpers shared by the Go conformance
// tests (ports of golang/go test/chan, runtime/chan_test.go, time tests).
//
// Conventions of these tests:
//  - every test runs under goro::run at several processor counts (the Procs
//    fixture: 1, 2 and 4; the machine may have fewer cores than that);
//  - synchronisation is by channels, wait groups or yield loops, never by
//    sleeping; only the time tests sleep, and only as their subject;
//  - sizes are scaled down under sanitizers (scaled());
//  - a goroutine that may still be blocked when the main goroutine returns
//    (Go programs that end with goroutines blocked, "always blocks" checks)
//    owns no heap memory: goro discards such goroutines without running
//    their destructors, so what they own would be reported by LeakSanitizer.
//    Such goroutines reach their channels through pointers into a keep<T>
//    arena that outlives goro::run;
//  - no SCOPED_TRACE in code that runs on goroutines: GoogleTest keeps the
//    trace stack per thread, and a goroutine may resume on another thread
//    after any switch point (popping another thread's stack crashes).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace conformance {

// Which sanitizer this is built with (shared with the unit tests).
using goro_test::asan;
using goro_test::sanitized;
using goro_test::tsan;

// An iteration count: n natively, n / div under a sanitizer (at least 1).
inline long scaled(long n, long div = 10) {
  if (!sanitized) return n;
  long m = n / div;
  return m > 0 ? m : 1;
}

// Longest a single goro::run of a test may take before it is declared hung.
inline constexpr std::chrono::seconds hang_limit{120};

// What run() does when the test's main function returns.
enum class at_exit {
  // Wait until every other goroutine has returned (a test whose goroutines
  // all finish). goro discards goroutines still alive when main returns,
  // without destroying their closures, so a goroutine that has done its
  // last wait_group.done() but not yet returned would leak what it
  // captured. Goroutines still alive after 60 s are a test failure.
  wait_for_goroutines,
  // Return at once, discarding goroutines left blocked (Go programs that
  // end that way; see the top of this file for what they may own).
  discard,
};

inline void wait_for_other_goroutines() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (unsigned i = 0; goro::num_goroutine() > 1; ++i) {
    goro::yield();
    if ((i & 255) == 0 && std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << goro::num_goroutine() - 1 << " goroutine(s) still alive when the test ended";
      return;
    }
  }
}

// goro::run(fn) at `procs` processors, aborting the process with a message
// if it does not return within `limit` (a hang is a failure, and this
// reports it sooner and more clearly than the CTest timeout).
template <class F>
int run(int procs, F&& fn, std::chrono::seconds limit = hang_limit,
        at_exit mode = at_exit::wait_for_goroutines) {
  struct watch {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  } w;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "?";
  std::thread dog([&w, name, procs, limit] {
    std::unique_lock lock(w.mu);
    if (!w.cv.wait_for(lock, limit, [&] { return w.done; })) {
      std::fprintf(stderr, "\nconformance watchdog: %s (procs=%d) did not finish within %llds\n",
                   name.c_str(), procs, static_cast<long long>(limit.count()));
      std::fflush(stderr);
      std::abort();
    }
  });
  auto body = [&fn, mode]() -> int {
    int r = 0;
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      fn();
    } else {
      r = static_cast<int>(fn());
    }
    if (mode == at_exit::wait_for_goroutines) wait_for_other_goroutines();
    return r;
  };
  int rc = goro::run(body, goro::config{.procs = procs});
  {
    std::lock_guard lock(w.mu);
    w.done = true;
  }
  w.cv.notify_all();
  dog.join();
  return rc;
}

// The fixture of every parameterised conformance test: GetParam() is the
// processor count.
class Procs : public ::testing::TestWithParam<int> {
 protected:
  int procs() const { return GetParam(); }
  // Runs fn as the main goroutine; returns once every goroutine has ended.
  template <class F>
  int go_run(F&& fn) const {
    return conformance::run(procs(), std::forward<F>(fn));
  }
  // Runs fn as the main goroutine; goroutines still blocked when it returns
  // are discarded.
  template <class F>
  int go_run_discarding(F&& fn) const {
    return conformance::run(procs(), std::forward<F>(fn), hang_limit, at_exit::discard);
  }
};

inline std::string procs_name(const ::testing::TestParamInfo<int>& info) {
  return "procs" + std::to_string(info.param);
}

#define CONFORMANCE_PROCS(suite, ...)                                                      \
  INSTANTIATE_TEST_SUITE_P(Procs, suite, ::testing::Values(__VA_ARGS__), \
                           ::conformance::procs_name)

// Objects with stable addresses that outlive goro::run: what goroutines that
// may be discarded at exit use (see the top of this file). Thread-safe.
template <class T>
class keep {
 public:
  template <class... A>
  T* make(A&&... args) {
    std::lock_guard lock(mu_);
    items_.emplace_back(std::forward<A>(args)...);
    return &items_.back();
  }

 private:
  std::mutex mu_;
  std::deque<T> items_;
};

// A blocking receive that takes no reference on the channel while it waits,
// for goroutines that may be discarded while blocked: chan<T>::recv() goes
// through a temporary recv_chan<T> (a handle copy that a discarded goroutine
// never releases). The range iterator receives through the handle it is
// given.
template <class C>
std::optional<typename C::value_type> recv(const C& c) {
  auto it = c.begin();  // receives one value, or finds the channel closed and drained
  std::optional<typename C::value_type> out;
  if (it != c.end()) out.emplace(std::move(*it));
  return out;
}

// Calls f(); expects it to throw goro::panic_error whose message is `msg`.
template <class F>
void expect_panic(const char* msg, F&& f) {
  try {
    f();
    ADD_FAILURE() << "did not panic; want panic \"" << msg << "\"";
  } catch (const goro::panic_error& e) {
    EXPECT_STREQ(e.what(), msg);
  }
}

// Calls f() and reports whether it threw goro::panic_error (Go's recover()).
template <class F>
bool panics(F&& f) {
  try {
    f();
  } catch (const goro::panic_error&) {
    return true;
  }
  return false;
}

// Yields until pred() holds; for "let the other goroutine get as far as it
// can" (an interleaving hint whose outcome the test does not depend on).
template <class Pred>
void yield_until(Pred pred, int max_yields = 1000) {
  for (int i = 0; i < max_yields && !pred(); ++i) goro::yield();
}

inline void yield_n(int n) {
  for (int i = 0; i < n; ++i) goro::yield();
}

}  // namespace conformance
