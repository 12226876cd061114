// goro::semaphore: ports of golang.org/x/sync/semaphore's tests
// (TestWeighted, TestWeightedPanic, TestWeightedTryAcquire,
// TestWeightedAcquire, TestWeightedDoesntBlockIfTooBig,
// TestLargeAcquireDoesntStarve, TestAllocCancelDoesntStarve,
// TestWeightedAcquireCanceled), plus FIFO order and plain threads. The
// sleeps of the originals (contention makers) are yields here.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;

class Semaphore : public ::testing::TestWithParam<int> {
 protected:
  goro::config cfg() const { return goro::config{.procs = GetParam()}; }
};
INSTANTIATE_TEST_SUITE_P(Procs, Semaphore, ::testing::Values(1, 2),
                         [](const auto& info) { return "procs" + std::to_string(info.param); });

// TestWeighted: n goroutines take i units each, repeatedly; never more than
// the size is held.
TEST_P(Semaphore, Weighted) {
  goro::run(
      [] {
        const int n = 4;
        const int loops = goro_test::sanitized ? 300 : 3000;
        goro::semaphore sem(n);
        std::atomic<int> held{0}, over{0};
        goro::wait_group wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) {
          goro::go([&, i] {
            for (int k = 0; k < loops; ++k) {
              sem.acquire(i + 1 > n ? n : i + 1);
              if (held.fetch_add(i + 1) + i + 1 > n) over.fetch_add(1);
              goro::yield();
              held.fetch_sub(i + 1);
              sem.release(i + 1);
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(over.load(), 0);
        EXPECT_TRUE(sem.try_acquire(n));
      },
      cfg());
}

// TestWeightedPanic.
TEST(SemaphorePlain, ReleaseMoreThanHeldPanics) {
  goro::semaphore w(1);
  try {
    w.release(1);
    ADD_FAILURE() << "release of an unacquired weighted semaphore did not panic";
  } catch (const goro::panic_error& e) {
    EXPECT_STREQ(e.what(), "semaphore: released more than held");
  }
  EXPECT_TRUE(w.try_acquire(1)) << "the failed release changed nothing";
}

// TestWeightedTryAcquire.
TEST(SemaphorePlain, TryAcquire) {
  goro::semaphore sem(2);
  std::vector<bool> tries;
  sem.acquire(1);
  tries.push_back(sem.try_acquire(1));
  tries.push_back(sem.try_acquire(1));
  sem.release(2);
  tries.push_back(sem.try_acquire(1));
  sem.acquire(1);
  tries.push_back(sem.try_acquire(1));
  EXPECT_EQ(tries, (std::vector<bool>{true, false, true, false}));
}

// TestWeightedAcquire: acquire with a 10 ms timeout.
TEST_P(Semaphore, AcquireWithTimeout) {
  goro::run(
      [] {
        goro::semaphore sem(2);
        auto try_acquire = [&](std::int64_t n) {
          auto [ctx, cancel] = goro::with_timeout(goro::background(), 10ms);
          return !sem.acquire(ctx, n);
        };
        std::vector<bool> tries;
        sem.acquire(1);
        tries.push_back(try_acquire(1));
        tries.push_back(try_acquire(1));
        sem.release(2);
        tries.push_back(try_acquire(1));
        sem.acquire(1);
        tries.push_back(try_acquire(1));
        EXPECT_EQ(tries, (std::vector<bool>{true, false, true, false}));
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 1ms);
        EXPECT_EQ(sem.acquire(ctx, 1), goro::errc::deadline_exceeded);
      },
      cfg());
}

// TestWeightedDoesntBlockIfTooBig: a request bigger than the size does not
// block the others.
TEST_P(Semaphore, DoesntBlockIfTooBig) {
  goro::run(
      [] {
        const int n = 2;
        goro::semaphore sem(n);
        auto [big_ctx, big_cancel] = goro::with_cancel(goro::background());
        auto big_done = goro::make_chan<std::error_code>(1);
        goro::go([&sem, ctx = big_ctx, big_done] { big_done.send(sem.acquire(ctx, n + 1)); });
        goro::errgroup g(goro::background());
        for (int i = n * 3; i > 0; --i) {
          g.go([&sem](const goro::context& ctx) -> std::error_code {
            std::error_code err = sem.acquire(ctx, 1);
            if (!err) {
              goro::yield();
              sem.release(1);
            }
            return err;
          });
        }
        EXPECT_FALSE(g.wait()) << "failed to acquire(_, 1) with acquire(_, 3) pending";
        big_cancel();
        EXPECT_EQ(*big_done.recv(), goro::errc::canceled);
      },
      cfg());
}

// TestLargeAcquireDoesntStarve: a big request gets through while small
// ones keep cycling.
TEST_P(Semaphore, LargeAcquireDoesntStarve) {
  goro::run(
      [] {
        const std::int64_t n = goro::maxprocs() + 2;
        goro::semaphore sem(n);
        std::atomic<bool> running{true};
        goro::wait_group wg;
        wg.add(static_cast<int>(n));
        for (std::int64_t i = n; i > 0; --i) {
          sem.acquire(1);
          goro::go([&] {
            while (running.load()) {
              goro::yield();
              sem.release(1);
              sem.acquire(1);
            }
            sem.release(1);
            wg.done();
          });
        }
        sem.acquire(n);
        running = false;
        sem.release(n);
        wg.wait();
      },
      cfg());
}

// TestAllocCancelDoesntStarve: canceling the big waiter at the front lets
// the small one behind it through.
TEST_P(Semaphore, CancelDoesntStarve) {
  goro::run(
      [] {
        goro::semaphore sem(10);
        sem.acquire(1);
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        auto big = goro::make_chan<std::error_code>(1);
        goro::go([&sem, ctx = ctx, big] { big.send(sem.acquire(ctx, 10)); });
        // Wait until the acquire(10) blocks (it then blocks try_acquire too).
        while (sem.try_acquire(1)) {
          sem.release(1);
          goro::yield();
        }
        goro::go([c = cancel] { c(); });
        EXPECT_FALSE(sem.acquire(goro::background(), 1)) << "acquire(_, 1) failed unexpectedly";
        sem.release(1);
        EXPECT_EQ(*big.recv(), goro::errc::canceled);
      },
      cfg());
}

// TestWeightedAcquireCanceled (go.dev/issue/63615).
TEST_P(Semaphore, AcquireCanceled) {
  goro::run(
      [] {
        goro::semaphore sem(2);
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        sem.acquire(1);
        auto ch = goro::make_chan<bool>();
        goro::go([&sem, c = cancel, ch] {
          while (sem.try_acquire(1)) sem.release(1);  // until acquire(2) waits
          c();  // cancel first, then release the unit
          sem.release(1);
          ch.close();
        });
        EXPECT_EQ(sem.acquire(ctx, 2), goro::errc::canceled);
        ch.recv();
        EXPECT_TRUE(sem.try_acquire(2)) << "try_acquire after canceled acquire failed";
        sem.release(2);
        EXPECT_EQ(sem.acquire(ctx, 1), goro::errc::canceled) << "a done context wins over free units";
      },
      cfg());
}

// FIFO: a big request blocks later small ones.
TEST_P(Semaphore, FifoBigBlocksSmall) {
  goro::run(
      [] {
        goro::semaphore sem(3);
        sem.acquire(2);
        std::vector<int> order;
        goro::mutex mu;
        goro::wait_group done;
        done.add(2);
        goro::go([&] {
          sem.acquire(3);
          {
            std::lock_guard lock(mu);
            order.push_back(3);
          }
          sem.release(3);
          done.done();
        });
        ASSERT_TRUE(goro_test::yield_until([&] { return !sem.try_acquire(1) || (sem.release(1), false); }));
        goro::go([&] {
          sem.acquire(1);  // would fit, but waits behind the 3
          {
            std::lock_guard lock(mu);
            order.push_back(1);
          }
          sem.release(1);
          done.done();
        });
        for (int i = 0; i < 10; ++i) goro::yield();
        sem.release(2);
        done.wait();
        EXPECT_EQ(order, (std::vector<int>{3, 1}));
      },
      cfg());
}

// Plain threads acquire beside goroutines; one is canceled.
TEST_P(Semaphore, ForeignThreads) {
  goro::run(
      [] {
        goro::semaphore sem(1);
        sem.acquire(1);
        auto [ctx, cancel] = goro::with_cancel(goro::background());
        std::error_code thread_err;
        std::thread t([&, c = ctx] { thread_err = sem.acquire(c, 1); });
        std::thread t2([&] {
          sem.acquire(1);
          sem.release(1);
        });
        while (sem.try_acquire(1)) sem.release(1);
        cancel();
        t.join();
        EXPECT_EQ(thread_err, goro::errc::canceled);
        sem.release(1);
        t2.join();
        EXPECT_TRUE(sem.try_acquire(1));
      },
      cfg());
}

}  // namespace
