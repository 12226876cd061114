// lock_os_thread (Go's runtime.LockOSThread; runtime/proc_test.go
// TestLockOSThread*, TestLockOSThreadExit and friends): a locked goroutine
// stays on its thread across every kind of switch point, its thread runs no
// other goroutine meanwhile, the others keep running while it blocks, the
// lock nests, and a goroutine that exits locked ends its thread.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro_test::this_thread_id;

// Every switch point a goroutine can meet: channel ops, select, sleep, a
// mutex, yield, a goro::blocking call.
void switch_points(goro::chan<int> ping, goro::chan<int> pong, goro::mutex& mu, int i) {
  ping.send(i);
  EXPECT_EQ(pong.recv(), i + 1);
  goro::select(goro::recv_case(pong, [](std::optional<int>) {}),
               goro::default_case([] {}));
  if (i % 16 == 0) goro::sleep(10us);
  {
    std::lock_guard lock(mu);
  }
  goro::yield();
  // Long enough for sysmon to hand the processor to another thread (it
  // does when other goroutines wait): unlocked, the caller would then
  // continue on another thread.
  goro::blocking([i] { std::this_thread::sleep_for(i % 25 == 0 ? 300us : 0us); });
}

class LockOSThread : public ::testing::TestWithParam<int> {};

TEST_P(LockOSThread, StaysOnItsThreadAcrossSwitchPoints) {
  goro::run(
      [] {
        goro::mutex mu;
        auto ping = goro::make_chan<int>();
        auto pong = goro::make_chan<int>();
        goro::go([=] {
          for (int v : ping) pong.send(v + 1);
        });
        // Churn so other goroutines compete for every processor.
        std::atomic<bool> stop{false};
        goro::wait_group churners;
        for (int c = 0; c < 4; ++c) {
          churners.add(1);
          goro::go([&] {
            while (!stop.load()) goro::yield();
            churners.done();
          });
        }
        goro::lock_os_thread();
        const auto home = this_thread_id();
        for (int i = 0; i < 500; ++i) {
          switch_points(ping, pong, mu, i);
          ASSERT_EQ(this_thread_id(), home) << "iteration " << i;
        }
        goro::unlock_os_thread();
        stop = true;
        churners.wait();
        ping.close();
      },
      goro::config{.procs = GetParam()});
}

TEST_P(LockOSThread, ItsThreadRunsNoOtherGoroutine) {
  goro::run(
      [] {
        std::atomic<std::thread::id> locked_thread{};
        std::atomic<bool> locked_done{false};
        auto tick = goro::make_chan<int>();
        goro::go([&] {
          goro::lock_os_thread();
          locked_thread = this_thread_id();
          for (int i = 0; i < 200; ++i) tick.recv();  // blocks over and over
          locked_done = true;
          goro::unlock_os_thread();
        });
        std::atomic<int> intruders{0};
        goro::wait_group wg;
        for (int i = 0; i < 200; ++i) {
          tick.send(i);
          wg.add(1);
          goro::go([&] {
            for (int k = 0; k < 5; ++k) {
              // Only meaningful while the locked goroutine still holds it.
              if (!locked_done.load() && this_thread_id() == locked_thread.load()) ++intruders;
              goro::yield();
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(intruders.load(), 0);
      },
      goro::config{.procs = GetParam()});
}

// With one processor, a locked goroutine that blocks must hand the
// processor on: the other goroutines run (Go's TestLockOSThreadAvoidsStatePropagation
// needs the same).
TEST(LockOSThreadSingleProc, BlockedLockedGoroutineLetsOthersRun) {
  goro::run(
      [] {
        auto never_before_done = goro::make_chan<int>();
        auto released = goro::make_chan<int>();
        goro::go([=] {
          goro::lock_os_thread();
          never_before_done.recv();  // parks the locked goroutine
          released.send(1);
        });
        goro::yield();
        int sum = 0;
        goro::wait_group wg;
        std::atomic<int> ran{0};
        for (int i = 0; i < 100; ++i) {
          wg.add(1);
          goro::go([&] {
            ++ran;
            wg.done();
          });
        }
        wg.wait();
        EXPECT_EQ(ran.load(), 100);
        never_before_done.send(0);
        sum += *released.recv();
        EXPECT_EQ(sum, 1);
      },
      goro::config{.procs = 1});
}

TEST(LockOSThreadSingleProc, MainGoroutineLockedPingPong) {
  goro::run(
      [] {
        goro::lock_os_thread();
        const auto home = this_thread_id();
        auto ping = goro::make_chan<int>();
        auto pong = goro::make_chan<int>();
        for (int g = 0; g < 8; ++g)
          goro::go([=] {
            for (int v : ping) pong.send(v);
          });
        for (int i = 0; i < 2000; ++i) {
          ping.send(i);
          pong.recv();
          ASSERT_EQ(this_thread_id(), home);
        }
        ping.close();
      },
      goro::config{.procs = 1});
}

TEST(LockOSThreadNesting, NeedsOneUnlockPerLock) {
  goro::run(
      [] {
        goro::unlock_os_thread();  // without a lock: a no-op
        goro::lock_os_thread();
        goro::lock_os_thread();
        const auto home = this_thread_id();
        goro::unlock_os_thread();  // still locked once
        for (int i = 0; i < 200; ++i) {
          goro::go([] {});
          goro::sleep(1us);
          ASSERT_EQ(this_thread_id(), home);
        }
        goro::unlock_os_thread();
      },
      goro::config{.procs = 2});
}

TEST(LockOSThreadNesting, ThreadLocalStateSurvives) {
  static thread_local int per_thread = 0;
  goro::run(
      [] {
        goro::lock_os_thread();
        per_thread = 42;
        for (int i = 0; i < 100; ++i) {
          goro::go([] { per_thread = -1; });  // runs on some other thread
          goro::sleep(1us);
          ASSERT_EQ(per_thread, 42);
        }
        goro::unlock_os_thread();
      },
      goro::config{.procs = 2});
}

bool thread_alive(pid_t tid) {
  return ::access(("/proc/self/task/" + std::to_string(tid)).c_str(), F_OK) == 0;
}

// Go's TestLockOSThreadExit: the thread of a goroutine that exits locked
// ends (so no other goroutine can ever run on it).
TEST(LockOSThreadExit, EndsTheThread) {
  goro::run(
      [] {
        std::atomic<pid_t> tid{0};
        auto done = goro::make_chan<int>();
        goro::go([&] {
          goro::lock_os_thread();
          tid = static_cast<pid_t>(::gettid());
          done.send(1);
          // returns locked
        });
        done.recv();
        EXPECT_TRUE(goro_test::yield_until([&] { return !thread_alive(tid.load()); }));
        // The others still run (on another thread).
        goro::wait_group wg;
        for (int i = 0; i < 100; ++i) {
          wg.add(1);
          goro::go([&] { wg.done(); });
        }
        wg.wait();
      },
      goro::config{.procs = 2});
}

// Ended threads stop counting: a program whose goroutines exit locked one
// after another never reaches max_threads (Go's threads that exit locked).
TEST(LockOSThreadExit, EndedThreadsDoNotCountTowardMaxThreads) {
  goro::run(
      [] {
        for (int i = 0; i < 40; ++i) {
          auto done = goro::make_chan<int>();
          goro::go([done] {
            goro::lock_os_thread();
            done.send(1);
          });
          done.recv();
          goro::sleep(std::chrono::microseconds(10));
        }
      },
      goro::config{.procs = 2, .max_threads = 5});
}

TEST(LockOSThreadOffRuntime, NoOpOnPlainThread) {
  goro::lock_os_thread();
  goro::unlock_os_thread();
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Procs, LockOSThread, ::testing::Values(1, 2, 4),
                         [](const auto& info) { return "procs" + std::to_string(info.param); });

}  // namespace
