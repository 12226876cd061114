// The public runtime API (goro/runtime.hpp) on the scheduler: run(), go()
// and its argument passing, goid(), num_goroutine(), maxprocs(), yield(),
// goroutines started and waited for from foreign threads, migration of
// parked goroutines between threads, exceptions and errno across switches,
// stack sizes, and misuse (nested run, go without a runtime).
//
// Most tests run at procs 1, 2 and 4 (the CI machines have 2 cores, so 4 is
// oversubscribed).
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/goro.hpp"
#include "test_util.hpp"

using goro_test::spin_until;
using goro_test::yield_until;

namespace {

class Sched : public ::testing::TestWithParam<int> {
 protected:
  goro::config cfg() const { return goro::config{.procs = GetParam()}; }
  int procs() const { return GetParam(); }
};

std::string procs_name(const ::testing::TestParamInfo<int>& info) {
  return "procs" + std::to_string(info.param);
}

INSTANTIATE_TEST_SUITE_P(Procs, Sched, ::testing::Values(1, 2, 4), procs_name);

// ---------------------------------------------------------------------------
// run()

TEST_P(Sched, RunReturnsMainsExitCode) {
  EXPECT_EQ(goro::run([] { return 0; }, cfg()), 0);
  EXPECT_EQ(goro::run([] { return 42; }, cfg()), 42);
  EXPECT_EQ(goro::run([] { return -3; }, cfg()), -3);
  bool ran = false;
  EXPECT_EQ(goro::run([&] { ran = true; }, cfg()), 0);  // void main
  EXPECT_TRUE(ran);
  // A main returning something convertible to int.
  EXPECT_EQ(goro::run([]() -> long { return 7L; }, cfg()), 7);
  EXPECT_EQ(goro::run([] { return static_cast<unsigned char>(200); }, cfg()), 200);
}

TEST_P(Sched, RunAcceptsLvalueAndConstCallables) {
  int calls = 0;
  auto body = [&] {
    ++calls;
    return calls;
  };
  EXPECT_EQ(goro::run(body, cfg()), 1);
  EXPECT_EQ(goro::run(body, cfg()), 2);
  struct const_main {
    int operator()() const { return 5; }
  };
  const const_main cm;
  EXPECT_EQ(goro::run(cm, cfg()), 5);
  EXPECT_EQ(goro::run(std::function<int()>([] { return 9; }), cfg()), 9);
}

TEST_P(Sched, RunTwiceInARow) {
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> n{0};
    int code = goro::run(
        [&] {
          goro::wait_group wg;
          for (int i = 0; i < 100; ++i) {
            wg.add(1);
            goro::go([&] {
              n.fetch_add(1);
              wg.done();
            });
          }
          wg.wait();
          EXPECT_EQ(goro::goid(), 1u);
          return round;
        },
        cfg());
    EXPECT_EQ(code, round);
    EXPECT_EQ(n.load(), 100);
  }
}

TEST(SchedNoRuntime, QueriesOutsideRun) {
  EXPECT_EQ(goro::maxprocs(), 0);
  EXPECT_EQ(goro::num_goroutine(), 0);
  EXPECT_EQ(goro::goid(), 0u);
  goro::yield();  // a plain thread: just yields the thread
}

TEST(SchedNoRuntime, GoWithoutRuntimeThrowsLogicError) {
  bool ran = false;
  EXPECT_THROW(goro::go([&] { ran = true; }), std::logic_error);
  EXPECT_THROW(goro::go(goro::go_options{.stack_size = 1 << 20}, [&] { ran = true; }),
               std::logic_error);
  EXPECT_FALSE(ran);
  // The runtime still starts normally afterwards.
  EXPECT_EQ(goro::run([] { return 3; }, goro::config{.procs = 1}), 3);
}

TEST_P(Sched, NestedRunThrowsLogicError) {
  int code = goro::run(
      [&] {
        bool inner_ran = false;
        EXPECT_THROW(goro::run([&] { inner_ran = true; }), std::logic_error);
        EXPECT_FALSE(inner_ran);
        // From another goroutine and from a foreign thread too.
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
          EXPECT_THROW(goro::run([] { return 1; }), std::logic_error);
          wg.done();
        });
        wg.wait();
        std::thread t([] { EXPECT_THROW(goro::run([] { return 1; }), std::logic_error); });
        t.join();
        return 11;
      },
      cfg());
  EXPECT_EQ(code, 11);
  EXPECT_EQ(goro::run([] { return 12; }, cfg()), 12);
}

// ---------------------------------------------------------------------------
// go(): argument passing.

template <class F, class... A>
concept can_go = requires(F&& f, A&&... a) { goro::go(std::forward<F>(f), std::forward<A>(a)...); };

struct copy_counter {
  static inline std::atomic<int> copies{0};
  static inline std::atomic<int> moves{0};
  int value = 0;
  explicit copy_counter(int v) : value(v) {}
  copy_counter(const copy_counter& o) : value(o.value) { copies.fetch_add(1); }
  copy_counter(copy_counter&& o) noexcept : value(o.value) {
    moves.fetch_add(1);
    o.value = -1;
  }
  copy_counter& operator=(const copy_counter&) = delete;
  copy_counter& operator=(copy_counter&&) = delete;
};

TEST_P(Sched, GoPassesArguments) {
  goro::run(
      [&] {
        goro::wait_group wg;
        // Plain values, a string, a function pointer with arguments.
        std::atomic<long> sum{0};
        std::string got;
        wg.add(3);
        goro::go(
            [&](int a, long b, std::string s) {
              sum.fetch_add(a + b);
              got = std::move(s);
              wg.done();
            },
            2, 40L, std::string("hello"));
        static std::atomic<int> fn_result{0};
        fn_result = 0;
        void (*fn)(int, goro::wait_group*) = [](int x, goro::wait_group* w) {
          fn_result.store(x);
          w->done();
        };
        goro::go(fn, 17, &wg);
        // A const reference parameter binds to the decay-copy, not the
        // original (and, as for std::thread, a non-const lvalue reference
        // parameter does not compile: the copy is passed as an rvalue).
        static_assert(!can_go<void (*)(int&), int&>);
        static_assert(can_go<void (*)(const int&), int&>);
        static_assert(can_go<void (*)(std::unique_ptr<int>), std::unique_ptr<int>>);
        int original = 5;
        goro::go(
            [&](const int& r) {
              EXPECT_NE(&r, &original);
              EXPECT_EQ(r, 5);
              wg.done();
            },
            original);
        wg.wait();
        EXPECT_EQ(sum.load(), 42);
        EXPECT_EQ(got, "hello");
        EXPECT_EQ(fn_result.load(), 17);
        EXPECT_EQ(original, 5);

        // std::ref passes a reference explicitly.
        int target = 0;
        wg.add(1);
        goro::go(
            [&](int& r) {
              r = 7;
              wg.done();
            },
            std::ref(target));
        wg.wait();
        EXPECT_EQ(target, 7);
      },
      cfg());
}

TEST_P(Sched, GoDecayCopiesLvaluesAndMovesRvalues) {
  goro::run(
      [&] {
        goro::wait_group wg;
        copy_counter::copies = 0;
        copy_counter::moves = 0;
        copy_counter lv(10);
        std::atomic<int> seen_lv{0}, seen_rv{0};
        wg.add(1);
        goro::go(
            [&](const copy_counter& c) {
              seen_lv = c.value;
              wg.done();
            },
            lv);
        wg.wait();
        EXPECT_EQ(seen_lv.load(), 10);
        EXPECT_EQ(lv.value, 10) << "an lvalue argument must be copied, not moved from";
        EXPECT_GE(copy_counter::copies.load(), 1);

        copy_counter rv(20);
        int copies_before = copy_counter::copies.load();
        wg.add(1);
        goro::go(
            [&](copy_counter c) {
              seen_rv = c.value;
              wg.done();
            },
            std::move(rv));
        wg.wait();
        EXPECT_EQ(seen_rv.load(), 20);
        EXPECT_EQ(rv.value, -1) << "an rvalue argument must be moved from";
        EXPECT_EQ(copy_counter::copies.load(), copies_before) << "an rvalue must never be copied";

        // The callable itself: an lvalue functor is copied, an rvalue moved.
        std::string state = "functor";
        struct functor {
          std::string s;
          std::atomic<int>* out;
          goro::wait_group* w;
          void operator()() {
            out->store(static_cast<int>(s.size()));
            w->done();
          }
        };
        std::atomic<int> out{0};
        functor f{state, &out, &wg};
        wg.add(1);
        goro::go(f);
        wg.wait();
        EXPECT_EQ(out.load(), 7);
        EXPECT_EQ(f.s, "functor");
        wg.add(1);
        goro::go(std::move(f));
        wg.wait();
        EXPECT_TRUE(f.s.empty()) << "an rvalue callable must be moved from";
      },
      cfg());
}

TEST_P(Sched, GoAcceptsMoveOnlyArguments) {
  goro::run(
      [&] {
        goro::wait_group wg;
        std::atomic<int> total{0};
        std::vector<std::unique_ptr<int>> ptrs;
        for (int i = 0; i < 50; ++i) ptrs.push_back(std::make_unique<int>(i));
        wg.add(50);
        for (auto& p : ptrs) {
          goro::go(
              [&](std::unique_ptr<int> q) {
                total.fetch_add(*q);
                wg.done();
              },
              std::move(p));
        }
        wg.wait();
        EXPECT_EQ(total.load(), 49 * 50 / 2);
        for (auto& p : ptrs) EXPECT_EQ(p, nullptr);
        // A move-only callable.
        auto owned = std::make_unique<int>(123);
        std::atomic<int> seen{0};
        wg.add(1);
        goro::go([o = std::move(owned), &seen, &wg] {
          seen = *o;
          wg.done();
        });
        wg.wait();
        EXPECT_EQ(seen.load(), 123);
        // The same with go_options.
        wg.add(1);
        goro::go(
            goro::go_options{.stack_size = 64 * 1024},
            [&](std::unique_ptr<int> q) {
              seen = *q;
              wg.done();
            },
            std::make_unique<int>(456));
        wg.wait();
        EXPECT_EQ(seen.load(), 456);
      },
      cfg());
}

// A function (not a pointer), a member function with its object, a static
// member function.
std::atomic<int> free_function_calls{0};
void free_function(goro::wait_group* wg, int add) {
  free_function_calls.fetch_add(add);
  wg->done();
}

struct counter_object {
  std::atomic<int> n{0};
  void bump(goro::wait_group* wg, int by) {
    n.fetch_add(by);
    wg->done();
  }
};

TEST_P(Sched, GoAcceptsFunctionsAndMemberFunctions) {
  goro::run(
      [&] {
        free_function_calls = 0;
        goro::wait_group wg;
        counter_object obj;
        wg.add(4);
        goro::go(free_function, &wg, 3);
        goro::go(&free_function, &wg, 4);
        goro::go(&counter_object::bump, &obj, &wg, 5);
        goro::go(&counter_object::bump, std::ref(obj), &wg, 6);
        wg.wait();
        EXPECT_EQ(free_function_calls.load(), 7);
        EXPECT_EQ(obj.n.load(), 11);
      },
      cfg());
}

// Goroutines that have not started when main returns are discarded: their
// bodies (and what they captured) are destroyed, and run() returns.
TEST_P(Sched, UnstartedGoroutinesAreDestroyedAtExit) {
  auto shared = std::make_shared<int>(1);
  std::atomic<int> ran{0};
  int code = goro::run(
      [&] {
        for (int i = 0; i < 100; ++i) {
          goro::go([shared, &ran] { ran.fetch_add(*shared); });
          goro::go(goro::go_options{.stack_size = 128 * 1024}, [shared, &ran] { ran.fetch_add(*shared); });
        }
        return 4;
      },
      cfg());
  EXPECT_EQ(code, 4);
  EXPECT_EQ(shared.use_count(), 1) << "captures of discarded goroutines were not destroyed";
}

// Go: at GOMAXPROCS=1, `go f(); return` from main never runs f: the program
// exits when main returns. goro::run's contract says the same ("discarded
// ... they never run again"). At procs=1 only main's processor can run the
// goroutines main started, and main never gives it up before returning.
//
// To make the outcome independent of thread timing, the thread that called
// run() (it stops the runtime once main has returned) is held in a signal
// handler from just before main returns until a goroutine has run, or for
// at most 300 ms. A runtime that starts goroutines after main returned
// therefore always shows it; a correct one passes after the 300 ms.
std::atomic<int> exit_hold_state{0};  // 1: the handler is holding the thread
std::atomic<int>* exit_hold_ran = nullptr;

void hold_run_caller(int) {
  exit_hold_state.store(1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (exit_hold_ran->load() == 0 && std::chrono::steady_clock::now() < deadline) {
  }
  exit_hold_state.store(2);
}

TEST(SchedExit, NothingRunsAfterMainReturns) {
  struct sigaction action {}, previous {};
  action.sa_handler = &hold_run_caller;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  std::atomic<int> ran{0};
  exit_hold_ran = &ran;
  exit_hold_state.store(0);
  pthread_t run_caller = pthread_self();
  bool held = false;
  goro::run(
      [&] {
        for (int i = 0; i < 100; ++i) goro::go([&ran] { ran.fetch_add(1); });
        pthread_kill(run_caller, SIGUSR1);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (exit_hold_state.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        }
        held = exit_hold_state.load() != 0;
      },
      goro::config{.procs = 1});
  sigaction(SIGUSR1, &previous, nullptr);
  ASSERT_TRUE(held) << "the signal was not delivered to the run() caller in time";
  EXPECT_EQ(ran.load(), 0) << "goroutines started after main returned";
}

// Many more processors than cores (Go's TestBigGOMAXPROCS starts 1024).
TEST(SchedProcs, ManyProcessors) {
  for (int procs : {16, 64}) {
    std::atomic<int> n{0};
    int got = goro::run(
        [&] {
          goro::wait_group wg;
          wg.add(2000);
          for (int i = 0; i < 2000; ++i)
            goro::go([&] {
              n.fetch_add(1);
              goro::yield();
              wg.done();
            });
          wg.wait();
          return goro::maxprocs();
        },
        goro::config{.procs = procs});
    EXPECT_EQ(got, procs);
    EXPECT_EQ(n.load(), 2000);
  }
}

// Closures larger than the G's inline buffer live on the heap.
TEST_P(Sched, LargeClosures) {
  goro::run(
      [&] {
        goro::wait_group wg;
        std::atomic<int> bad{0};
        for (int i = 0; i < 200; ++i) {
          std::array<unsigned char, 500> big;
          for (std::size_t j = 0; j < big.size(); ++j) big[j] = static_cast<unsigned char>(i + j);
          wg.add(1);
          goro::go([big, i, &bad, &wg] {
            for (std::size_t j = 0; j < big.size(); ++j)
              if (big[j] != static_cast<unsigned char>(i + j)) bad.fetch_add(1);
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(bad.load(), 0);
      },
      cfg());
}

// An exception while decay-copying the arguments leaves no goroutine behind.
TEST_P(Sched, ThrowingArgumentCopyStartsNothing) {
  struct throws_on_copy {
    throws_on_copy() = default;
    throws_on_copy(const throws_on_copy&) { throw std::runtime_error("copy"); }
  };
  goro::run(
      [&] {
        std::atomic<bool> ran{false};
        throws_on_copy t;
        for (int i = 0; i < 100; ++i) {
          EXPECT_THROW(goro::go([&](const throws_on_copy&) { ran = true; }, t), std::runtime_error);
        }
        EXPECT_EQ(goro::num_goroutine(), 1);
        // The runtime is intact.
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] { wg.done(); });
        wg.wait();
        EXPECT_FALSE(ran.load());
      },
      cfg());
}

// ---------------------------------------------------------------------------
// Many goroutines.

TEST_P(Sched, HundredThousandGoroutines) {
  const int n = 100000;
  std::atomic<int> counter{0};
  goro::run(
      [&] {
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) {
          goro::go([&] {
            counter.fetch_add(1, std::memory_order_relaxed);
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(counter.load(), n);
      },
      cfg());
  EXPECT_EQ(counter.load(), n);
}

// Goroutines that start goroutines (a tree), each waiting for its children.
void spawn_tree(int depth, std::atomic<int>& nodes) {
  nodes.fetch_add(1, std::memory_order_relaxed);
  if (depth == 0) return;
  goro::wait_group wg;
  wg.add(3);
  for (int i = 0; i < 3; ++i) {
    goro::go([&, depth] {
      spawn_tree(depth - 1, nodes);
      wg.done();
    });
  }
  wg.wait();
}

TEST_P(Sched, GoroutineTree) {
  std::atomic<int> nodes{0};
  goro::run([&] { spawn_tree(7, nodes); }, cfg());
  EXPECT_EQ(nodes.load(), (2187 * 3 - 1) / 2);  // 1 + 3 + ... + 3^7
}

// ---------------------------------------------------------------------------
// goid()

TEST_P(Sched, GoidMainIsOneOthersDistinct) {
  const int n = 2000;
  std::vector<std::uint64_t> ids(n, 0);
  std::uint64_t main_id = 0;
  goro::run(
      [&] {
        main_id = goro::goid();
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) {
          goro::go([&, i] {
            ids[static_cast<std::size_t>(i)] = goro::goid();
            goro::yield();
            EXPECT_EQ(goro::goid(), ids[static_cast<std::size_t>(i)]) << "goid changed across a yield";
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(goro::goid(), 1u);
        std::thread t([] { EXPECT_EQ(goro::goid(), 0u) << "a plain thread has no goroutine id"; });
        t.join();
      },
      cfg());
  EXPECT_EQ(main_id, 1u);
  std::set<std::uint64_t> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << "goroutine ids must be distinct";
  EXPECT_EQ(unique.count(0), 0u);
  EXPECT_EQ(unique.count(1), 0u);
  EXPECT_EQ(goro::goid(), 0u);
}

// ---------------------------------------------------------------------------
// num_goroutine() and maxprocs()

TEST_P(Sched, NumGoroutine) {
  goro::run(
      [&] {
        EXPECT_EQ(goro::num_goroutine(), 1) << "a fresh runtime has only main";
        const int k = 300;
        goro::wait_group started, release, finished;
        started.add(k);
        release.add(1);
        finished.add(k);
        for (int i = 0; i < k; ++i) {
          goro::go([&] {
            started.done();
            release.wait();
            finished.done();
          });
        }
        started.wait();
        EXPECT_EQ(goro::num_goroutine(), k + 1) << "all started, none returned";
        release.done();
        finished.wait();
        // The goroutines return right after done(): the count drops to 1.
        EXPECT_TRUE(yield_until([] { return goro::num_goroutine() == 1; }))
            << "num_goroutine stuck at " << goro::num_goroutine();
        // Goroutines started from a foreign thread count too.
        goro::wait_group fstarted, frelease, ffinished;
        fstarted.add(10);
        frelease.add(1);
        ffinished.add(10);
        std::thread t([&] {
          for (int i = 0; i < 10; ++i)
            goro::go([&] {
              fstarted.done();
              frelease.wait();
              ffinished.done();
            });
        });
        fstarted.wait();
        t.join();
        EXPECT_EQ(goro::num_goroutine(), 11);
        frelease.done();
        ffinished.wait();
        EXPECT_TRUE(yield_until([] { return goro::num_goroutine() == 1; }))
            << "num_goroutine stuck at " << goro::num_goroutine();
      },
      cfg());
}

TEST_P(Sched, Maxprocs) {
  int seen = -1;
  int seen_in_goroutine = -1;
  int seen_on_thread = -1;
  goro::run(
      [&] {
        seen = goro::maxprocs();
        goro::wait_group wg;
        wg.add(1);
        goro::go([&] {
          seen_in_goroutine = goro::maxprocs();
          wg.done();
        });
        wg.wait();
        std::thread t([&] { seen_on_thread = goro::maxprocs(); });
        t.join();
      },
      cfg());
  EXPECT_EQ(seen, procs());
  EXPECT_EQ(seen_in_goroutine, procs());
  EXPECT_EQ(seen_on_thread, procs());
  EXPECT_EQ(goro::maxprocs(), 0);
}

// procs = 0: GOMAXPROCS from the environment, else the hardware threads.
TEST(SchedProcs, DefaultFromEnvironment) {
  const char* old = std::getenv("GOMAXPROCS");
  std::string saved = old ? old : "";
  setenv("GOMAXPROCS", "3", 1);
  int with_env = goro::run([] { return goro::maxprocs(); });
  setenv("GOMAXPROCS", "junk", 1);
  int with_junk = goro::run([] { return goro::maxprocs(); });
  unsetenv("GOMAXPROCS");
  int without = goro::run([] { return goro::maxprocs(); });
  if (old) setenv("GOMAXPROCS", saved.c_str(), 1);
  EXPECT_EQ(with_env, 3);
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(with_junk, hw > 0 ? hw : 1);
  EXPECT_EQ(without, hw > 0 ? hw : 1);
}

// ---------------------------------------------------------------------------
// yield()

// Go's TestYieldProgress: a goroutine polling a flag with yield() must see
// main's store; at procs=1 only yield lets main run at all.
TEST_P(Sched, YieldProgress) {
  for (int round = 0; round < 20; ++round) {
    goro::run(
        [&] {
          std::atomic<bool> started{false}, stop{false};
          goro::wait_group done;
          done.add(1);
          goro::go([&] {
            started.store(true);
            EXPECT_TRUE(yield_until([&] { return stop.load(); }));
            done.done();
          });
          // Main also has to yield for the goroutine to start at procs=1.
          EXPECT_TRUE(yield_until([&] { return started.load(); }));
          stop.store(true);
          done.wait();
        },
        cfg());
  }
}

// Two goroutines take turns through an atomic, each yielding while it is
// not its turn: needs yield to hand over (at procs=1) and stays correct at
// any number of processors.
TEST_P(Sched, YieldPingPong) {
  goro::run(
      [&] {
        const int rounds = 2000;
        std::atomic<int> turn{0};
        goro::wait_group wg;
        wg.add(2);
        for (int me = 0; me < 2; ++me) {
          goro::go([&, me] {
            for (int i = 0; i < rounds; ++i) {
              if (!yield_until([&] { return turn.load() % 2 == me; })) break;
              turn.fetch_add(1);
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(turn.load(), 2 * rounds);
      },
      cfg());
}

// A goroutine started while its starter keeps running user code (no switch
// point: it sits in the starter's runnext slot) runs on another processor:
// an idle M, woken by go(), steals it; or the last spinning M, giving up,
// sees it in runnext and spins again (Go's runqempty check).
TEST(SchedRunnext, StartedGoroutineRunsWhileStarterSpins) {
  for (int procs : {2, 4}) {
    goro::run(
        [] {
          for (int i = 0; i < 300; ++i) {
            std::atomic<bool> ran{false};
            goro::go([&ran] { ran.store(true, std::memory_order_release); });
            ASSERT_TRUE(spin_until([&] { return ran.load(std::memory_order_acquire); })) << "round " << i;
          }
        },
        goro::config{.procs = procs});
  }
}

// Many goroutines yielding in a loop all finish (none starves).
TEST_P(Sched, ManyYielders) {
  goro::run(
      [&] {
        const int n = 200, loops = 50;
        std::atomic<long> total{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) {
          goro::go([&] {
            for (int j = 0; j < loops; ++j) {
              total.fetch_add(1);
              goro::yield();
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(total.load(), n * loops);
      },
      cfg());
}

// ---------------------------------------------------------------------------
// Foreign threads.

TEST_P(Sched, GoFromForeignThread) {
  std::atomic<int> counter{0};
  goro::run(
      [&] {
        const int per_thread = 2000;
        const int threads = 3;
        goro::wait_group wg;
        wg.add(per_thread * threads);
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t) {
          ts.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
              goro::go([&] {
                EXPECT_NE(goro::goid(), 0u);
                counter.fetch_add(1);
                wg.done();
              });
            }
          });
        }
        wg.wait();  // parks main while the threads are still spawning
        for (auto& t : ts) t.join();
        EXPECT_EQ(counter.load(), per_thread * threads);
      },
      cfg());
}

TEST_P(Sched, WaitGroupWaitFromForeignThread) {
  goro::run(
      [&] {
        for (int round = 0; round < 50; ++round) {
          const int n = 20;
          goro::wait_group work, thread_done;
          std::atomic<int> counter{0};
          std::atomic<int> seen_by_thread{-1};
          work.add(n);
          thread_done.add(1);
          std::thread t([&] {
            work.wait();  // blocks this plain thread
            seen_by_thread = counter.load();
            thread_done.done();  // readies main from a foreign thread
          });
          for (int i = 0; i < n; ++i) {
            goro::go([&] {
              counter.fetch_add(1);
              work.done();
            });
          }
          thread_done.wait();
          t.join();
          EXPECT_EQ(seen_by_thread.load(), n);
        }
      },
      cfg());
}

// ---------------------------------------------------------------------------
// Migration: a goroutine parks on one thread and resumes on another.

thread_local int tls_thread_tag = 0;

[[gnu::noinline]] int read_thread_tag() {
  asm volatile("" ::: "memory");
  return tls_thread_tag;
}
[[gnu::noinline]] void write_thread_tag(int v) {
  asm volatile("" ::: "memory");
  tls_thread_tag = v;
}

// At procs=2: two busy goroutines A and B meet (so they run on the two
// threads TA and TB at once). A starts X and parks. X runs after A left its
// thread and keeps that thread busy until A has resumed; B readies A and
// returns. So A resumes on a thread other than X's: TB, unless sysmon handed
// a processor to a new thread because a spin took over 10 ms on a loaded
// machine. Either way, A sees the thread_locals of the thread it is on.
TEST(SchedMigration, ParkedGoroutineResumesOnOtherThread) {
  for (int round = 0; round < 20; ++round) {
    std::thread::id a_before, a_after, x_thread, b_thread;
    int a_tag_before = 0, a_tag_after = 0;
    std::atomic<bool> ok{true};
    goro::run(
        [&] {
          std::atomic<int> meet{0};
          std::atomic<bool> a_parked{false}, a_resumed{false};
          goro::wait_group park, all;
          park.add(1);
          all.add(3);
          goro::go([&] {  // A
            meet.fetch_add(1);
            if (!spin_until([&] { return meet.load() == 2; })) ok = false;
            a_before = goro_test::this_thread_id();
            write_thread_tag(1000 + round);
            a_tag_before = read_thread_tag();
            goro::go([&] {  // X
              x_thread = goro_test::this_thread_id();
              a_parked = true;
              if (!spin_until([&] { return a_resumed.load(); })) ok = false;
              all.done();
            });
            long local = 12345;
            park.wait();
            a_after = goro_test::this_thread_id();
            a_tag_after = read_thread_tag();
            if (local != 12345) ok = false;
            a_resumed = true;
            all.done();
          });
          goro::go([&] {  // B
            meet.fetch_add(1);
            if (!spin_until([&] { return meet.load() == 2; })) ok = false;
            b_thread = goro_test::this_thread_id();
            write_thread_tag(-1);
            if (!spin_until([&] { return a_parked.load(); })) ok = false;
            park.done();
            all.done();
          });
          all.wait();
        },
        goro::config{.procs = 2});
    ASSERT_TRUE(ok.load()) << "a spin timed out (round " << round << ")";
    EXPECT_NE(a_before, b_thread);
    EXPECT_NE(a_after, x_thread) << "A resumed on the thread X keeps busy (round " << round << ")";
    EXPECT_EQ(a_tag_before, 1000 + round);
    // Each run has fresh threads: only TA and TB wrote their tags.
    int expected_tag = a_after == a_before ? 1000 + round : a_after == b_thread ? -1 : 0;
    EXPECT_EQ(a_tag_after, expected_tag) << "after migrating, thread_locals are the new thread's";
  }
}

// Many goroutines park and resume repeatedly; whatever threads they land
// on, their state is intact.
TEST_P(Sched, ParkResumeManyTimesKeepsState) {
  std::atomic<int> migrations{0};
  std::atomic<int> bad{0};
  goro::run(
      [&] {
        const int n = 64, rounds = 30;
        // Round r: every goroutine arrives (arrived[r]) and parks on gate[r]
        // until main has seen all arrive and opens it.
        std::vector<std::unique_ptr<goro::wait_group>> arrived, gate;
        for (int r = 0; r < rounds; ++r) {
          arrived.push_back(std::make_unique<goro::wait_group>());
          gate.push_back(std::make_unique<goro::wait_group>());
          arrived.back()->add(n);
          gate.back()->add(1);
        }
        goro::wait_group finished;
        finished.add(n);
        for (int i = 0; i < n; ++i) {
          goro::go([&, i] {
            std::uint64_t h = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
            double d = i * 0.5;
            for (int r = 0; r < rounds; ++r) {
              auto before = goro_test::this_thread_id();
              arrived[static_cast<std::size_t>(r)]->done();
              gate[static_cast<std::size_t>(r)]->wait();
              if (goro_test::this_thread_id() != before) migrations.fetch_add(1);
              h = h * 31 + static_cast<std::uint64_t>(r);
              d = d * 1.0001 + r;
            }
            std::uint64_t eh = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
            double ed = i * 0.5;
            for (int r = 0; r < rounds; ++r) {
              eh = eh * 31 + static_cast<std::uint64_t>(r);
              ed = ed * 1.0001 + r;
            }
            if (h != eh || d != ed) bad.fetch_add(1);
            finished.done();
          });
        }
        for (int r = 0; r < rounds; ++r) {
          arrived[static_cast<std::size_t>(r)]->wait();
          gate[static_cast<std::size_t>(r)]->done();
        }
        finished.wait();
      },
      cfg());
  EXPECT_EQ(bad.load(), 0);
  RecordProperty("migrations", migrations.load());
}

// ---------------------------------------------------------------------------
// Exceptions, errno.

TEST_P(Sched, ExceptionCaughtInsideGoroutine) {
  for (int round = 0; round < 10; ++round) {
    goro::run(
        [&] {
          const int n = 200;
          std::atomic<int> caught{0};
          goro::wait_group wg;
          wg.add(n);
          for (int i = 0; i < n; ++i) {
            goro::go([&, i] {
              for (int j = 0; j < 5; ++j) {
                try {
                  goro::yield();
                  throw std::runtime_error("e" + std::to_string(i * 10 + j));
                } catch (const std::runtime_error& e) {
                  if (e.what() == "e" + std::to_string(i * 10 + j)) caught.fetch_add(1);
                }
              }
              wg.done();
            });
          }
          wg.wait();
          EXPECT_EQ(caught.load(), n * 5);
          EXPECT_EQ(std::uncaught_exceptions(), 0);
        },
        cfg());
  }
}

// A goroutine parks inside a catch block (while other goroutines throw and
// catch on the same threads), resumes, possibly elsewhere, and `throw;`
// rethrows its own exception.
TEST_P(Sched, ParkInsideCatchThenRethrow) {
  for (int round = 0; round < 10; ++round) {
    goro::run(
        [&] {
          const int n = 64;
          goro::wait_group arrived, release, finished;
          arrived.add(n);
          release.add(1);
          finished.add(n);
          std::atomic<int> right{0}, current_right{0}, nested_right{0};
          for (int i = 0; i < n; ++i) {
            goro::go([&, i] {
              const std::string mine = "exception " + std::to_string(i);
              try {
                try {
                  throw std::runtime_error(mine);
                } catch (const std::runtime_error&) {
                  arrived.done();
                  release.wait();  // parked with an exception being handled
                  // Another throw/catch here must not disturb the outer one.
                  try {
                    throw std::logic_error("inner " + std::to_string(i));
                  } catch (const std::logic_error& inner) {
                    goro::yield();
                    if (std::string(inner.what()) == "inner " + std::to_string(i)) nested_right.fetch_add(1);
                  }
                  try {
                    std::rethrow_exception(std::current_exception());
                  } catch (const std::runtime_error& e) {
                    if (e.what() == mine) current_right.fetch_add(1);
                  }
                  throw;
                }
              } catch (const std::runtime_error& e) {
                if (e.what() == mine) right.fetch_add(1);
              }
              finished.done();
            });
          }
          arrived.wait();
          // Meanwhile main throws and catches on whatever thread it is on.
          for (int k = 0; k < 10; ++k) {
            try {
              throw k;
            } catch (int v) {
              EXPECT_EQ(v, k);
            }
          }
          EXPECT_FALSE(std::current_exception()) << "main sees another goroutine's exception";
          release.done();
          finished.wait();
          EXPECT_EQ(right.load(), n);
          EXPECT_EQ(current_right.load(), n);
          EXPECT_EQ(nested_right.load(), n);
        },
        cfg());
  }
}

// std::uncaught_exceptions() belongs to the goroutine: one that parks in a
// destructor during unwinding still sees 1 after resuming, others see 0.
TEST_P(Sched, UncaughtExceptionsAcrossSwitch) {
  for (int round = 0; round < 10; ++round) {
    goro::run(
        [&] {
          const int n = 32;
          goro::wait_group arrived, release, finished;
          arrived.add(n);
          release.add(1);
          finished.add(n);
          std::atomic<int> before_ok{0}, after_ok{0}, caught{0};
          struct parks_in_destructor {
            goro::wait_group* arrived;
            goro::wait_group* release;
            std::atomic<int>* before_ok;
            std::atomic<int>* after_ok;
            ~parks_in_destructor() {
              if (std::uncaught_exceptions() == 1) before_ok->fetch_add(1);
              arrived->done();
              release->wait();
              if (std::uncaught_exceptions() == 1) after_ok->fetch_add(1);
            }
          };
          for (int i = 0; i < n; ++i) {
            goro::go([&, i] {
              try {
                parks_in_destructor p{&arrived, &release, &before_ok, &after_ok};
                throw i;
              } catch (int v) {
                if (v == i && std::uncaught_exceptions() == 0) caught.fetch_add(1);
              }
              finished.done();
            });
          }
          arrived.wait();
          EXPECT_EQ(std::uncaught_exceptions(), 0);
          // Other goroutines, on any thread, see none either.
          std::atomic<int> others_bad{0};
          goro::wait_group others;
          others.add(8);
          for (int i = 0; i < 8; ++i) {
            goro::go([&] {
              if (std::uncaught_exceptions() != 0) others_bad.fetch_add(1);
              goro::yield();
              if (std::uncaught_exceptions() != 0) others_bad.fetch_add(1);
              others.done();
            });
          }
          others.wait();
          EXPECT_EQ(others_bad.load(), 0);
          release.done();
          finished.wait();
          EXPECT_EQ(before_ok.load(), n);
          EXPECT_EQ(after_ok.load(), n);
          EXPECT_EQ(caught.load(), n);
        },
        cfg());
  }
}

// errno is per goroutine: a value set before a park is intact after it,
// while other goroutines set errno on the same threads. (errno is read and
// written through non-inlined functions: compilers may reuse the address of
// errno computed before a call, which is a different thread's after a
// migration.)
[[gnu::noinline]] int get_errno() {
  asm volatile("" ::: "memory");
  return errno;
}
[[gnu::noinline]] void set_errno(int v) {
  asm volatile("" ::: "memory");
  errno = v;
}

TEST_P(Sched, ErrnoSurvivesPark) {
  for (int round = 0; round < 10; ++round) {
    goro::run(
        [&] {
          const int n = 64;
          goro::wait_group arrived, release, finished;
          arrived.add(n);
          release.add(1);
          finished.add(n);
          std::atomic<int> bad{0};
          for (int i = 0; i < n; ++i) {
            goro::go([&, i] {
              set_errno(1000 + i);
              arrived.done();
              release.wait();
              if (get_errno() != 1000 + i) bad.fetch_add(1);
              set_errno(2000 + i);
              goro::yield();
              if (get_errno() != 2000 + i) bad.fetch_add(1);
              finished.done();
            });
          }
          set_errno(7);
          arrived.wait();
          EXPECT_EQ(get_errno(), 7);
          release.done();
          finished.wait();
          EXPECT_EQ(get_errno(), 7);
          EXPECT_EQ(bad.load(), 0);
        },
        cfg());
  }
}

// ---------------------------------------------------------------------------
// Stack sizes.

[[gnu::noinline]] long touch_stack_array(std::size_t bytes) {
  // A VLA-free way to use `bytes` of stack: recursion in 16 KiB frames.
  if (bytes == 0) return 0;
  volatile unsigned char frame[16 * 1024];
  for (std::size_t i = 0; i < sizeof frame; i += 512) frame[i] = static_cast<unsigned char>(i >> 9);
  std::size_t rest = bytes > sizeof frame ? bytes - sizeof frame : 0;
  long r = touch_stack_array(rest);
  asm volatile("" ::: "memory");
  long s = 0;
  for (std::size_t i = 0; i < sizeof frame; i += 512) s += frame[i];
  return r + s;
}

constexpr long expected_frame_sum = [] {
  long s = 0;
  for (std::size_t i = 0; i < 16 * 1024; i += 512) s += static_cast<unsigned char>(i >> 9);
  return s;
}();

TEST_P(Sched, DefaultStackHolds100KiB) {
  goro::run(
      [&] {
        std::atomic<long> got{0};
        goro::wait_group wg;
        wg.add(8);
        for (int i = 0; i < 8; ++i) {
          goro::go([&] {
            volatile unsigned char big[100 * 1024];
            for (std::size_t j = 0; j < sizeof big; j += 256) big[j] = 1;
            long s = 0;
            for (std::size_t j = 0; j < sizeof big; j += 256) s += big[j];
            got.fetch_add(s);
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(got.load(), 8 * (100 * 1024 / 256));
      },
      cfg());
}

TEST_P(Sched, CustomStackSizeHolds512KiB) {
  goro::run(
      [&] {
        std::atomic<long> got{0};
        std::atomic<long> recursion{0};
        goro::wait_group wg;
        wg.add(16);
        for (int i = 0; i < 8; ++i) {
          goro::go(goro::go_options{.stack_size = 1 << 20}, [&] {
            volatile unsigned char big[512 * 1024];
            for (std::size_t j = 0; j < sizeof big; j += 256) big[j] = 1;
            long s = 0;
            for (std::size_t j = 0; j < sizeof big; j += 256) s += big[j];
            got.fetch_add(s);
            goro::yield();  // parks and resumes on its big stack
            wg.done();
          });
          goro::go(goro::go_options{.stack_size = 1 << 20},
                   [&] {
                     recursion.fetch_add(touch_stack_array(640 * 1024));
                     wg.done();
                   });
        }
        wg.wait();
        EXPECT_EQ(got.load(), 8 * (512 * 1024 / 256));
        EXPECT_EQ(recursion.load(), 8 * 40 * expected_frame_sum);
      },
      cfg());
}

// config.stack_size changes the default for every goroutine.
TEST_P(Sched, ConfigStackSize) {
  goro::config c = cfg();
  c.stack_size = 2 << 20;
  goro::run(
      [&] {
        std::atomic<long> got{0};
        goro::wait_group wg;
        wg.add(4);
        for (int i = 0; i < 4; ++i) {
          goro::go([&] {
            got.fetch_add(touch_stack_array(1200 * 1024));
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(got.load(), 4 * 75 * expected_frame_sum);
        // The main goroutine has the configured size too.
        EXPECT_EQ(touch_stack_array(1200 * 1024), 75 * expected_frame_sum);
      },
      c);
}

// Custom-size stacks are mapped and unmapped per goroutine: many in turn.
TEST_P(Sched, ManyCustomStackGoroutines) {
  goro::run(
      [&] {
        std::atomic<int> n{0};
        goro::wait_group wg;
        for (int batch = 0; batch < 20; ++batch) {
          wg.add(50);
          for (int i = 0; i < 50; ++i) {
            goro::go(goro::go_options{.stack_size = static_cast<std::size_t>(64 + i) * 1024}, [&] {
              volatile char buf[32 * 1024];
              buf[0] = 1;
              buf[sizeof buf - 1] = 1;
              n.fetch_add(buf[0] + buf[sizeof buf - 1]);
              wg.done();
            });
          }
          wg.wait();
        }
        EXPECT_EQ(n.load(), 2 * 20 * 50);
      },
      cfg());
}

// ---------------------------------------------------------------------------
// (Last in the file: under UBSan the misalignment it detects aborts the
// binary.)
// A closure with an over-aligned member must be constructed at an address
// of that alignment (alignof > 16 goes to the heap). The address goes through
// an opaque function: the compiler would fold `&x % alignof(x)` to 0.
std::uintptr_t opaque_address(const void* p) {
  auto v = reinterpret_cast<std::uintptr_t>(p);
  asm volatile("" : "+r"(v));
  return v;
}

TEST_P(Sched, OverAlignedClosures) {
  struct alignas(64) line {
    unsigned char bytes[64];
  };
  struct alignas(256) page_part {
    unsigned char bytes[256];
  };
  goro::run(
      [&] {
        goro::wait_group wg;
        std::atomic<int> misaligned64{0}, misaligned256{0};
        for (int i = 0; i < 32; ++i) {
          line l{};
          l.bytes[0] = static_cast<unsigned char>(i);
          page_part pp{};
          wg.add(2);
          goro::go([l, &misaligned64, &wg] {
            if (opaque_address(&l) % alignof(line) != 0) misaligned64.fetch_add(1);
            wg.done();
          });
          goro::go([pp, &misaligned256, &wg] {
            if (opaque_address(&pp) % alignof(page_part) != 0)
              misaligned256.fetch_add(1);
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(misaligned64.load(), 0) << "closures with alignas(64) captures misaligned";
        EXPECT_EQ(misaligned256.load(), 0) << "closures with alignas(256) captures misaligned";
      },
      cfg());
}

}  // namespace
