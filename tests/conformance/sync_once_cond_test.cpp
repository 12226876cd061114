// Ports of golang/go sync/once_test.go (TestOnce, TestOncePanic) and
// sync/cond_test.go (TestCondSignal, TestCondSignalGenerations,
// TestCondBroadcast, TestRace, TestCondSignalStealing); plus once with
// arguments and blocked callers, and cond with other lockables and with
// plain threads. TestCondCopy has no counterpart: goro::cond cannot be
// copied (a compile-time error).
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::Procs;
using conformance::scaled;
using namespace std::chrono_literals;

class Once : public Procs {};
CONFORMANCE_PROCS(Once, 1, 2, 4);
class Cond : public Procs {};
CONFORMANCE_PROCS(Cond, 1, 2, 4);

// TestOnce: 10 goroutines call call(); f runs once, and each caller sees
// its effect when call() returns.
TEST_P(Once, RunsOnce) {
  go_run([] {
    goro::once once;
    int o = 0;  // written by f only; read after call() returns
    std::atomic<int> bad{0};
    auto c = goro::make_chan<bool>();
    for (int i = 0; i < 10; ++i) {
      goro::go([&, c] {
        once.call([&] { ++o; });
        if (o != 1) bad.fetch_add(1);
        c.send(true);
      });
    }
    for (int i = 0; i < 10; ++i) c.recv();
    EXPECT_EQ(o, 1);
    EXPECT_EQ(bad.load(), 0) << "once failed inside run";
  });
}

// TestOncePanic: an exception from f propagates and counts as done.
TEST_P(Once, ExceptionCountsAsDone) {
  go_run([] {
    goro::once once;
    EXPECT_THROW(once.call([] { throw std::runtime_error("failed"); }), std::runtime_error);
    once.call([] { ADD_FAILURE() << "Once.Do called twice"; });
  });
}

// Every caller waits until the first f has returned, even when f parks.
TEST_P(Once, CallersWaitForTheFirst) {
  go_run([] {
    goro::once once;
    auto release = goro::make_chan<bool>(), entered = goro::make_chan<bool>();
    auto returned = goro::make_chan<int>(16);
    std::atomic<bool> f_done{false};
    goro::go([&, release, entered] {
      once.call([&] {
        entered.send(true);
        release.recv();  // parks inside f
        f_done = true;
      });
      returned.send(0);
    });
    entered.recv();
    for (int i = 1; i <= 5; ++i) {
      goro::go([&, i] {
        once.call([] { ADD_FAILURE() << "second f ran"; });
        if (!f_done) ADD_FAILURE() << "call() returned before the first f";
        returned.send(i);
      });
    }
    conformance::yield_n(20);
    EXPECT_EQ(returned.len(), 0u);
    release.send(true);
    for (int i = 0; i < 6; ++i) returned.recv();
  });
}

TEST(OncePlain, ArgumentsAndThreads) {
  goro::once once;
  std::atomic<int> sum{0};
  std::vector<std::thread> ts;
  for (int i = 1; i <= 4; ++i)
    ts.emplace_back([&, i] { once.call([&](int v) { sum += v; }, i); });
  for (auto& t : ts) t.join();
  int s = sum.load();
  EXPECT_TRUE(s >= 1 && s <= 4);
  once.call([&](int) { sum += 100; }, 0);
  EXPECT_EQ(sum.load(), s);
}

// Unlike Go's, these tests wait for their goroutines before returning: the
// mutex, cond and flags live on the test's stack, not on a garbage-collected
// heap.

// TestCondSignal: exactly one waiter per signal().
TEST_P(Cond, Signal) {
  go_run([] {
    goro::mutex m;
    goro::cond c(m);
    int n = 2;
    auto running = goro::make_chan<bool>(n), awake = goro::make_chan<bool>(n);
    goro::wait_group exited;  // m and c must outlive the goroutines' last use
    exited.add(n);
    for (int i = 0; i < n; ++i) {
      goro::go([&, running, awake] {
        m.lock();
        running.send(true);
        c.wait();
        awake.send(true);
        m.unlock();
        exited.done();
      });
    }
    for (int i = 0; i < n; ++i) running.recv();  // everyone is waiting (they hold m until then)
    while (n > 0) {
      EXPECT_EQ(awake.try_recv().status, goro::recv_status::empty) << "goroutine not asleep";
      m.lock();
      c.signal();
      m.unlock();
      awake.recv();  // deadlocks if nobody wakes
      conformance::yield_n(5);
      EXPECT_EQ(awake.try_recv().status, goro::recv_status::empty) << "too many goroutines awake";
      --n;
    }
    c.signal();  // nobody waits: nothing happens
    exited.wait();
  });
}

// TestCondSignalGenerations: signal() wakes waiters in FIFO order.
TEST_P(Cond, SignalGenerations) {
  go_run([] {
    goro::mutex m;
    goro::cond c(m);
    const int n = 100;
    auto running = goro::make_chan<bool>(n);
    auto awake = goro::make_chan<int>(n);
    goro::wait_group exited;
    exited.add(n);
    for (int i = 0; i < n; ++i) {
      goro::go([&, running, awake, i] {
        m.lock();
        running.send(true);
        c.wait();
        awake.send(i);
        m.unlock();
        exited.done();
      });
      if (i > 0) {
        int a = *awake.recv();
        ASSERT_EQ(a, i - 1) << "wrong goroutine woke up";
      }
      running.recv();
      m.lock();
      c.signal();
      m.unlock();
    }
    EXPECT_EQ(*awake.recv(), n - 1);
    exited.wait();
  });
}

// TestCondBroadcast: 200 waiters, each woken exactly once per round.
TEST_P(Cond, Broadcast) {
  go_run([] {
    goro::mutex m;
    goro::cond c(m);
    const int n = static_cast<int>(scaled(200, 4));
    auto running = goro::make_chan<int>(n), awake = goro::make_chan<int>(n);
    bool exit = false;  // guarded by m
    goro::wait_group exited;
    exited.add(n);
    for (int i = 0; i < n; ++i) {
      goro::go([&, running, awake, i] {
        m.lock();
        while (!exit) {
          running.send(i);
          c.wait();
          awake.send(i);
        }
        m.unlock();
        exited.done();
      });
    }
    for (int round = 0; round < n; ++round) {
      for (int i = 0; i < n; ++i) running.recv();  // deadlocks unless n are waiting
      if (round == n - 1) {
        m.lock();
        exit = true;
        m.unlock();
      }
      EXPECT_EQ(awake.try_recv().status, goro::recv_status::empty) << "goroutine not asleep";
      m.lock();
      c.broadcast();
      m.unlock();
      std::vector<bool> seen(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        int g = *awake.recv();
        ASSERT_FALSE(seen[static_cast<std::size_t>(g)]) << "goroutine woke up twice";
        seen[static_cast<std::size_t>(g)] = true;
      }
    }
    conformance::yield_n(5);
    EXPECT_EQ(running.try_recv().status, goro::recv_status::empty) << "goroutine did not exit";
    c.broadcast();
    exited.wait();
  });
}

// TestRace: three goroutines hand a value along through one cond.
TEST_P(Cond, Race) {
  go_run([] {
    goro::mutex m;
    goro::cond c(m);
    int x = 0;  // guarded by m
    auto done = goro::make_chan<bool>();
    goro::go([&, done] {
      m.lock();
      x = 1;
      c.wait();
      EXPECT_EQ(x, 2);
      x = 3;
      c.signal();
      m.unlock();
      done.send(true);
    });
    goro::go([&, done] {
      m.lock();
      for (;;) {
        if (x == 1) {
          x = 2;
          c.signal();
          break;
        }
        m.unlock();
        goro::yield();
        m.lock();
      }
      m.unlock();
      done.send(true);
    });
    goro::go([&, done] {
      m.lock();
      for (;;) {
        if (x == 2) {
          c.wait();
          EXPECT_EQ(x, 3);
          break;
        }
        if (x == 3) break;
        m.unlock();
        goro::yield();
        m.lock();
      }
      m.unlock();
      done.send(true);
    });
    for (int i = 0; i < 3; ++i) done.recv();
  });
}

// TestCondSignalStealing: a broadcast racing with a new waiter must still
// wake the waiter that was there first.
TEST_P(Cond, SignalStealing) {
  go_run([] {
    const long iters = scaled(1000, 5);
    for (long it = 0; it < iters; ++it) {
      goro::mutex m;
      goro::cond c(m);
      auto ch = goro::make_chan<bool>();
      goro::go([&, ch] {
        m.lock();
        ch.send(true);
        c.wait();
        m.unlock();
        ch.send(true);
      });
      ch.recv();
      m.lock();  // the waiter is inside wait() once we get m
      m.unlock();
      bool done = false;  // guarded by m
      auto finished = goro::make_chan<bool>(2);
      goro::go([&, finished] {
        c.broadcast();
        finished.send(true);
      });
      goro::go([&, finished] {
        m.lock();
        while (!done) c.wait();
        m.unlock();
        finished.send(true);
      });
      bool woke = false;
      goro::select(goro::recv_case(ch, [&](auto) { woke = true; }),
                   goro::recv_case(goro::after(2s), [](auto) {}));
      ASSERT_TRUE(woke) << "first waiter didn't get broadcast (iteration " << it << ")";
      m.lock();
      done = true;
      m.unlock();
      c.broadcast();  // the second waiter, in case it missed the first broadcast
      finished.recv();
      finished.recv();
    }
  });
}

// A cond over the reader view of a shared_mutex (Go: sync.NewCond(rw.RLocker())).
TEST_P(Cond, OverReaderLock) {
  go_run([] {
    goro::shared_mutex rw;
    auto rl = rw.rlocker();
    goro::cond c(rl);
    std::atomic<bool> flag{false};
    auto done = goro::make_chan<bool>();
    for (int i = 0; i < 3; ++i) {
      goro::go([&, done] {
        {
          std::unique_lock lock(rl);
          c.wait([&] { return flag.load(); });
        }
        done.send(true);
      });
    }
    conformance::yield_n(10);
    {
      std::unique_lock lock(rw);  // the writer waits for the readers in wait() to leave... they did
      flag = true;
    }
    c.broadcast();
    for (int i = 0; i < 3; ++i) done.recv();
  });
}

// Plain threads wait on a cond beside goroutines; a goroutine signals.
TEST_P(Cond, ForeignThreadWaiters) {
  go_run([] {
    goro::mutex m;
    goro::cond c(m);
    int tickets = 0;  // guarded by m
    int waiting = 0;  // guarded by m
    const int threads = 2, goroutines = 3;
    goro::wait_group finished;
    finished.add(threads + goroutines);
    auto waiter = [&] {
      {
        std::unique_lock lock(m);
        ++waiting;
        c.wait([&] { return tickets > 0; });
        --tickets;
      }
      finished.done();
    };
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i) ts.emplace_back(waiter);
    for (int i = 0; i < goroutines; ++i) goro::go(waiter);
    ASSERT_TRUE(goro_test::yield_until([&] {
      std::lock_guard lock(m);
      return waiting == threads + goroutines;
    }));
    for (int i = 0; i < threads + goroutines; ++i) {
      std::lock_guard lock(m);
      ++tickets;
      c.signal();
    }
    finished.wait();
    for (auto& t : ts) t.join();
  });
}

}  // namespace
