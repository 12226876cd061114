// goro::wait_group (Go's sync.WaitGroup): ports of sync/waitgroup_test.go
// (TestWaitGroup, TestWaitGroupMisuse, TestWaitGroupRace, TestWaitGroupAlign)
// plus waits from plain threads, with and without a runtime.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace {

class WaitGroup : public ::testing::TestWithParam<int> {
 protected:
  goro::config cfg() const { return goro::config{.procs = GetParam()}; }
};

std::string procs_name(const ::testing::TestParamInfo<int>& info) {
  return "procs" + std::to_string(info.param);
}

INSTANTIATE_TEST_SUITE_P(Procs, WaitGroup, ::testing::Values(1, 2, 4), procs_name);

// TestWaitGroup: wg1 is a barrier for n goroutines, which then wait on wg2;
// none may pass wg2 before main has called done() n times. Repeated on the
// same two groups (reuse).
void barrier_round(goro::wait_group& wg1, goro::wait_group& wg2) {
  const int n = 16;
  wg1.add(n);
  wg2.add(n);
  std::atomic<int> exited{0};
  goro::wait_group all_exited;
  all_exited.add(n);
  for (int i = 0; i < n; ++i) {
    goro::go([&] {
      wg1.done();
      wg2.wait();
      exited.fetch_add(1);
      all_exited.done();
    });
  }
  wg1.wait();
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(exited.load(), 0) << "WaitGroup released group too soon";
    goro::yield();  // give an early-released goroutine the chance to show
    EXPECT_EQ(exited.load(), 0) << "WaitGroup released group too soon";
    wg2.done();
  }
  all_exited.wait();  // blocks forever if the barrier failed to release someone
  EXPECT_EQ(exited.load(), n);
}

TEST_P(WaitGroup, Barrier) {
  goro::run(
      [] {
        for (int repeat = 0; repeat < 25; ++repeat) {
          goro::wait_group wg1, wg2;
          for (int i = 0; i < 8; ++i) barrier_round(wg1, wg2);
        }
      },
      cfg());
}

TEST_P(WaitGroup, ManyRoundsOfReuse) {
  goro::run(
      [] {
        goro::wait_group wg;
        std::atomic<int> n{0};
        for (int round = 0; round < 500; ++round) {
          int k = round % 7 + 1;
          wg.add(k);
          for (int i = 0; i < k; ++i) {
            goro::go([&] {
              n.fetch_add(1);
              wg.done();
            });
          }
          wg.wait();
          ASSERT_EQ(n.load(), k) << "round " << round;
          n.store(0);
        }
      },
      cfg());
}

// TestWaitGroupMisuse: Add(1), Done(), Done() panics with Go's message.
TEST_P(WaitGroup, NegativeCounterPanics) {
  goro::run(
      [] {
        goro::wait_group wg;
        wg.add(1);
        wg.done();
        try {
          wg.done();
          ADD_FAILURE() << "should panic";
        } catch (const goro::panic_error& e) {
          EXPECT_STREQ(e.what(), "sync: negative WaitGroup counter");
        }
        goro::wait_group fresh;
        try {
          fresh.add(-1);
          ADD_FAILURE() << "should panic";
        } catch (const goro::panic_error& e) {
          EXPECT_STREQ(e.what(), "sync: negative WaitGroup counter");
        }
        // The same in another goroutine.
        goro::wait_group wg2, finished;
        finished.add(1);
        std::atomic<bool> caught{false};
        goro::go([&] {
          try {
            wg2.add(-5);
          } catch (const goro::panic_error& e) {
            caught = std::string(e.what()) == "sync: negative WaitGroup counter";
          }
          finished.done();
        });
        finished.wait();
        EXPECT_TRUE(caught.load());
      },
      cfg());
}

TEST(WaitGroupPlain, NegativeCounterPanicsWithoutRuntime) {
  goro::wait_group wg;
  EXPECT_THROW(wg.add(-1), goro::panic_error);
  goro::wait_group wg2;
  wg2.add(2);
  wg2.done();
  wg2.done();
  try {
    wg2.done();
    ADD_FAILURE() << "should panic";
  } catch (const goro::panic_error& e) {
    EXPECT_STREQ(e.what(), "sync: negative WaitGroup counter");
  }
  // panic_error is a std::runtime_error.
  goro::wait_group wg3;
  EXPECT_THROW(wg3.add(-1), std::runtime_error);
}

TEST_P(WaitGroup, WaitWithZeroCounterReturnsAtOnce) {
  goro::run(
      [] {
        goro::wait_group wg;
        wg.wait();
        wg.wait();
        wg.add(3);
        wg.add(-3);
        wg.wait();
        // In another goroutine, at procs=1 too: wait must not park.
        goro::wait_group other, finished;
        finished.add(1);
        goro::go([&] {
          other.wait();
          finished.done();
        });
        finished.wait();
      },
      cfg());
}

TEST(WaitGroupPlain, ZeroWaitWithoutRuntime) {
  goro::wait_group wg;
  wg.wait();
  wg.add(1);
  wg.done();
  wg.wait();
}

// TestWaitGroupRace: Wait never returns before both done() calls.
TEST_P(WaitGroup, Race) {
  goro::run(
      [] {
        for (int i = 0; i < 1000; ++i) {
          goro::wait_group wg;
          std::atomic<int> n{0};
          wg.add(1);
          goro::go([&] {
            n.fetch_add(1);
            wg.done();
          });
          wg.add(1);
          goro::go([&] {
            n.fetch_add(1);
            wg.done();
          });
          wg.wait();
          ASSERT_EQ(n.load(), 2) << "spurious wakeup from wait, iteration " << i;
        }
      },
      cfg());
}

// TestWaitGroupAlign: a wait_group at an odd offset in a struct.
TEST_P(WaitGroup, Align) {
  goro::run(
      [] {
        struct X {
          char x;
          goro::wait_group wg;
        };
        X x;
        x.wg.add(1);
        goro::go([](X* p) { p->wg.done(); }, &x);
        x.wg.wait();
      },
      cfg());
}

// Many goroutines wait on one group; one done() releases all of them.
TEST_P(WaitGroup, ManyWaiters) {
  goro::run(
      [] {
        for (int round = 0; round < 20; ++round) {
          const int waiters = 200;
          goro::wait_group gate, started, finished;
          gate.add(1);
          started.add(waiters);
          finished.add(waiters);
          std::atomic<int> passed{0};
          for (int i = 0; i < waiters; ++i) {
            goro::go([&] {
              started.done();
              gate.wait();
              passed.fetch_add(1);
              finished.done();
            });
          }
          started.wait();
          EXPECT_EQ(passed.load(), 0);
          gate.done();
          finished.wait();
          EXPECT_EQ(passed.load(), waiters);
        }
      },
      cfg());
}

// Plain threads and goroutines wait on the same group.
TEST_P(WaitGroup, WaitFromForeignThreads) {
  goro::run(
      [] {
        for (int round = 0; round < 20; ++round) {
          goro::wait_group gate, threads_done, goroutines_done, started;
          gate.add(1);
          const int nthreads = 3, ngoroutines = 10;
          threads_done.add(nthreads);
          goroutines_done.add(ngoroutines);
          started.add(ngoroutines);
          std::atomic<int> passed{0};
          std::vector<std::thread> ts;
          for (int t = 0; t < nthreads; ++t) {
            ts.emplace_back([&] {
              gate.wait();
              passed.fetch_add(1);
              threads_done.done();
            });
          }
          for (int i = 0; i < ngoroutines; ++i) {
            goro::go([&] {
              started.done();
              gate.wait();
              passed.fetch_add(1);
              goroutines_done.done();
            });
          }
          started.wait();
          gate.done();  // a goroutine releases threads and goroutines
          threads_done.wait();
          goroutines_done.wait();
          for (auto& t : ts) t.join();
          EXPECT_EQ(passed.load(), nthreads + ngoroutines);
        }
      },
      cfg());
}

// A plain thread waits for goroutines, with the runtime's main parked on a
// group that the thread releases.
TEST_P(WaitGroup, ForeignThreadWaitsForGoroutines) {
  goro::run(
      [] {
        goro::wait_group work, handback;
        const int n = 100;
        work.add(n);
        handback.add(1);
        std::atomic<int> done_count{0};
        std::atomic<int> seen{-1};
        std::thread t([&] {
          work.wait();
          seen = done_count.load();
          handback.done();
        });
        for (int i = 0; i < n; ++i) {
          goro::go([&] {
            done_count.fetch_add(1);
            work.done();
          });
        }
        handback.wait();
        t.join();
        EXPECT_EQ(seen.load(), n);
      },
      cfg());
}

// Without any runtime: plain threads only.
TEST(WaitGroupPlain, ThreadsWithoutRuntime) {
  for (int round = 0; round < 50; ++round) {
    goro::wait_group wg, gate;
    gate.add(1);
    const int n = 4;
    wg.add(n);
    std::atomic<int> passed{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < n; ++i) {
      ts.emplace_back([&] {
        gate.wait();
        passed.fetch_add(1);
        wg.done();
      });
    }
    gate.done();
    wg.wait();
    EXPECT_EQ(passed.load(), n);
    for (auto& t : ts) t.join();
  }
}

}  // namespace
